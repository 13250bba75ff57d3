-- Change feed v2 (issue 18): an event carries its perimeter keys in its own columns, indexed,
-- instead of one row per key in a separate table. Per 1,000 new pupils the writers used to add
-- about 3,600 events and 7,200 key rows, each key row a heap tuple, an index entry and a probe
-- of the event it belonged to; now the keys are four columns of the event row itself.
--
-- What an event's columns hold: its perimeter keys, before and after the change ('c:<INSEE>'
-- becomes a commune, 'u:<UAI>' a UAI), the first two communes and the first two UAIs in text
-- order. Almost every event fits: an inscription has its school and the school's commune (two
-- of each when it moves), a school likewise, a pupil its residence, its school and that
-- school's commune. The keys that do not fit (a pupil with active inscriptions in three
-- communes, a move plus a school elsewhere) and the keys a later statement of the same
-- transaction adds to an event already written go to `changements_cles`, the former key table
-- renamed (its rows stay valid: events written before this migration keep their keys there).
-- A reader walks, for each key of its perimeter, the index of each column and of
-- changements_cles, in (xid, seq) order: the same cost per key as before, five small ranges.
ALTER TABLE changements ADD COLUMN commune TEXT;
ALTER TABLE changements ADD COLUMN commune_bis TEXT;
ALTER TABLE changements ADD COLUMN uai TEXT;
ALTER TABLE changements ADD COLUMN uai_bis TEXT;
CREATE INDEX changements_par_commune ON changements (commune, xid, seq) WHERE commune IS NOT NULL;
CREATE INDEX changements_par_commune_bis ON changements (commune_bis, xid, seq) WHERE commune_bis IS NOT NULL;
CREATE INDEX changements_par_uai ON changements (uai, xid, seq) WHERE uai IS NOT NULL;
CREATE INDEX changements_par_uai_bis ON changements (uai_bis, xid, seq) WHERE uai_bis IS NOT NULL;

ALTER TABLE changements_portee RENAME TO changements_cles;
ALTER TABLE changements_cles RENAME CONSTRAINT changements_portee_pkey TO changements_cles_pkey;
-- The purge deletes by position: without this it read the whole key table.
CREATE INDEX changements_cles_par_position ON changements_cles (xid, seq);

-- Every key of every event, wherever it is stored: what `changements_portee` held before
-- (for tests and for whoever inspects the feed by hand; the reader uses the indexes above).
CREATE VIEW changements_portee AS
SELECT cle, xid, seq FROM changements_cles
UNION ALL SELECT 'c:' || commune, xid, seq FROM changements WHERE commune IS NOT NULL
UNION ALL SELECT 'c:' || commune_bis, xid, seq FROM changements WHERE commune_bis IS NOT NULL
UNION ALL SELECT 'u:' || uai, xid, seq FROM changements WHERE uai IS NOT NULL
UNION ALL SELECT 'u:' || uai_bis, xid, seq FROM changements WHERE uai_bis IS NOT NULL;

-- changements_noter (crates/store/sql/postgres/changements_noter.sql) writes the columns; it is
-- re-applied after the migrations.
