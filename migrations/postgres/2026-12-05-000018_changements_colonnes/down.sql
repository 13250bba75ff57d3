DROP VIEW changements_portee;
DROP INDEX changements_cles_par_position;
ALTER TABLE changements_cles RENAME CONSTRAINT changements_cles_pkey TO changements_portee_pkey;
ALTER TABLE changements_cles RENAME TO changements_portee;
-- The keys held in the columns go back to the key table before the columns go.
INSERT INTO changements_portee (cle, xid, seq)
SELECT k.cle, c.xid, c.seq FROM changements c
CROSS JOIN LATERAL (VALUES ('c:' || c.commune), ('c:' || c.commune_bis), ('u:' || c.uai), ('u:' || c.uai_bis)) AS k(cle)
WHERE k.cle IS NOT NULL
ON CONFLICT DO NOTHING;
DROP INDEX changements_par_commune;
DROP INDEX changements_par_commune_bis;
DROP INDEX changements_par_uai;
DROP INDEX changements_par_uai_bis;
ALTER TABLE changements DROP COLUMN commune;
ALTER TABLE changements DROP COLUMN commune_bis;
ALTER TABLE changements DROP COLUMN uai;
ALTER TABLE changements DROP COLUMN uai_bis;
