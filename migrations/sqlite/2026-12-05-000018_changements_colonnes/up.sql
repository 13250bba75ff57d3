-- Change feed v2 (issue 18; see the PostgreSQL migration of the same name): the same columns,
-- indexes, key table and view, so that both backends hold one logical schema. SQLite's row
-- triggers (crates/store/sql/sqlite/) keep writing every key to changements_cles and leave the
-- columns empty: a single node with one writer at a time, whose bases are small, gains little
-- from the columns, and its triggers stay as simple as they are (the reader reads both).
ALTER TABLE changements ADD COLUMN commune TEXT;
ALTER TABLE changements ADD COLUMN commune_bis TEXT;
ALTER TABLE changements ADD COLUMN uai TEXT;
ALTER TABLE changements ADD COLUMN uai_bis TEXT;
CREATE INDEX changements_par_commune ON changements (commune, xid, seq) WHERE commune IS NOT NULL;
CREATE INDEX changements_par_commune_bis ON changements (commune_bis, xid, seq) WHERE commune_bis IS NOT NULL;
CREATE INDEX changements_par_uai ON changements (uai, xid, seq) WHERE uai IS NOT NULL;
CREATE INDEX changements_par_uai_bis ON changements (uai_bis, xid, seq) WHERE uai_bis IS NOT NULL;

ALTER TABLE changements_portee RENAME TO changements_cles;
CREATE INDEX changements_cles_par_position ON changements_cles (xid, seq);

CREATE VIEW changements_portee AS
SELECT cle, xid, seq FROM changements_cles
UNION ALL SELECT 'c:' || commune, xid, seq FROM changements WHERE commune IS NOT NULL
UNION ALL SELECT 'c:' || commune_bis, xid, seq FROM changements WHERE commune_bis IS NOT NULL
UNION ALL SELECT 'u:' || uai, xid, seq FROM changements WHERE uai IS NOT NULL
UNION ALL SELECT 'u:' || uai_bis, xid, seq FROM changements WHERE uai_bis IS NOT NULL;
