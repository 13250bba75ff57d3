-- The replaceable schema's triggers on the column go first (crates/store/sql/postgres/empreintes.sql).
DROP TRIGGER IF EXISTS eleves_empreinte ON eleves;
DROP TRIGGER IF EXISTS responsables_empreinte ON responsables;
DROP TRIGGER IF EXISTS liens_empreinte ON eleves_responsables;
DROP FUNCTION IF EXISTS empreinte_perimee();
DROP FUNCTION IF EXISTS empreinte_perimee_par_responsable();
ALTER TABLE eleves DROP COLUMN empreinte;
