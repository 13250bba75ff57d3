-- Every inscription embeds its pupil's summary (`eleve`: INE, nom, prenoms, sexe,
-- date_naissance, as GET /v1/inscriptions shows it): a change of one of those fields is a
-- change of each of the pupil's inscriptions, radiated ones included (the lists return them),
-- under its school's keys (see the PostgreSQL migration). Only those fields: an address or a
-- guardian changes no inscription.
--
-- It used to replace function bodies or triggers here. Those definitions now live in the
-- replaceable schema (crates/store/sql/sqlite/changements_eleves.sql), applied after the migrations on every
-- start; the migration stays, emptied, because databases record its version.
SELECT 1;
