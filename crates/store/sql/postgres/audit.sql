-- Replaceable schema (PostgreSQL): the audit trail is append-only; a record is never updated
-- (retention deletes whole records). Re-applied after the migrations when the base differs
-- (crates/store/src/definitions.rs): edit this file, not a migration, to change it.

CREATE OR REPLACE FUNCTION audit_ajout_seul() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'la piste d''audit est en ajout seul';
END
$$;
DROP TRIGGER IF EXISTS audit_pas_de_modification ON audit;
CREATE TRIGGER audit_pas_de_modification BEFORE UPDATE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_ajout_seul();
