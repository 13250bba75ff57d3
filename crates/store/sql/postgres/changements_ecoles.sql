-- Replaceable schema of the change feed (PostgreSQL): schools.
-- Re-applied after the migrations when the base differs (crates/store/src/definitions.rs), in one
-- transaction under the migrations' advisory lock: edit this file, not a migration, to change
-- it. CREATE OR REPLACE for functions, DROP IF EXISTS + CREATE for triggers.

-- Schools: row by row (rare writes), so that a corrected UAI pairs its old and new values.
CREATE OR REPLACE FUNCTION changements_ecoles() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changements_suspendus) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM changements_noter('ecole', ARRAY[NEW.uai], ARRAY['creation'], NULL,
            ARRAY[NEW.uai, NEW.uai], ARRAY['c:' || NEW.code_commune, 'u:' || NEW.uai]);
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM changements_noter('ecole', ARRAY[NEW.uai],
            ARRAY[CASE WHEN OLD.uai <> NEW.uai THEN 'changement_cle' ELSE 'modification' END],
            ARRAY[CASE WHEN OLD.uai <> NEW.uai THEN OLD.uai END],
            ARRAY[NEW.uai, NEW.uai, NEW.uai, NEW.uai],
            ARRAY['c:' || OLD.code_commune, 'u:' || OLD.uai, 'c:' || NEW.code_commune, 'u:' || NEW.uai]);
    ELSE
        PERFORM changements_noter('ecole', ARRAY[OLD.uai], ARRAY['suppression'], NULL,
            ARRAY[OLD.uai, OLD.uai], ARRAY['c:' || OLD.code_commune, 'u:' || OLD.uai]);
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS ecoles_changements ON ecoles;
CREATE TRIGGER ecoles_changements AFTER INSERT OR DELETE OR UPDATE ON ecoles
    FOR EACH ROW EXECUTE FUNCTION changements_ecoles();
