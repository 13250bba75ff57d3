-- Replaceable schema (SQLite): the audit trail is append-only; a record is never updated
-- (retention deletes whole records). Re-applied after the migrations when the base differs
-- (crates/store/src/definitions.rs): edit this file, not a migration, to change it.

DROP TRIGGER IF EXISTS audit_pas_de_modification;
CREATE TRIGGER audit_pas_de_modification BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'la piste d''audit est en ajout seul');
END;
