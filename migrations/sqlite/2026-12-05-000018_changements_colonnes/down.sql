DROP VIEW changements_portee;
DROP INDEX changements_cles_par_position;
ALTER TABLE changements_cles RENAME TO changements_portee;
INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
SELECT 'c:' || commune, xid, seq FROM changements WHERE commune IS NOT NULL
UNION ALL SELECT 'c:' || commune_bis, xid, seq FROM changements WHERE commune_bis IS NOT NULL
UNION ALL SELECT 'u:' || uai, xid, seq FROM changements WHERE uai IS NOT NULL
UNION ALL SELECT 'u:' || uai_bis, xid, seq FROM changements WHERE uai_bis IS NOT NULL;
DROP INDEX changements_par_commune;
DROP INDEX changements_par_commune_bis;
DROP INDEX changements_par_uai;
DROP INDEX changements_par_uai_bis;
ALTER TABLE changements DROP COLUMN commune;
ALTER TABLE changements DROP COLUMN commune_bis;
ALTER TABLE changements DROP COLUMN uai;
ALTER TABLE changements DROP COLUMN uai_bis;
