-- The replaceable schema's triggers on the column go first (crates/store/sql/sqlite/empreintes.sql).
DROP TRIGGER IF EXISTS eleves_empreinte;
DROP TRIGGER IF EXISTS responsables_empreinte;
DROP TRIGGER IF EXISTS liens_empreinte;
ALTER TABLE eleves DROP COLUMN empreinte;
