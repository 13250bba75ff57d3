-- Replaceable schema of the change feed (PostgreSQL): guardians.
-- Re-applied after the migrations when the base differs (crates/store/src/definitions.rs), in one
-- transaction under the migrations' advisory lock: edit this file, not a migration, to change
-- it. CREATE OR REPLACE for functions, DROP IF EXISTS + CREATE for triggers.

-- Guardians: seen through their pupils, so keyed by their pupils' keys; the pupils, whose
-- records carry their guardians, change with them.
CREATE OR REPLACE FUNCTION changements_responsables() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids TEXT[]; ops TEXT[]; k_ids TEXT[]; k_cles TEXT[]; e_ids TEXT[]; e_cles TEXT[];
BEGIN
    IF EXISTS (SELECT 1 FROM changements_suspendus) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(n.id), array_agg('creation'::text) INTO ids, ops FROM nouveau n;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(a.id), array_agg('suppression'::text) INTO ids, ops FROM ancien a;
    ELSE
        SELECT array_agg(n.id), array_agg('modification'::text) INTO ids, ops
        FROM ancien a JOIN nouveau n ON n.id = a.id WHERE (a.*) IS DISTINCT FROM (n.*);
    END IF;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT array_agg(l.responsable_id), array_agg(k.cle), array_agg(l.eleve_id)
      INTO k_ids, k_cles, e_ids
    FROM eleves_responsables l JOIN changements_cles_eleves(
        ARRAY(SELECT l2.eleve_id FROM eleves_responsables l2 WHERE l2.responsable_id = ANY (ids))) k ON k.id = l.eleve_id
    WHERE l.responsable_id = ANY (ids);
    PERFORM changements_noter('responsable', ids, ops, NULL, k_ids, k_cles);
    IF TG_OP = 'UPDATE' THEN
        SELECT array_agg(k.id), array_agg(k.cle) INTO e_ids, e_cles FROM changements_cles_eleves(e_ids) k;
        PERFORM changements_noter('eleve', e_ids, NULL, NULL, e_ids, e_cles);
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS responsables_changements_insertion ON responsables;
CREATE TRIGGER responsables_changements_insertion AFTER INSERT ON responsables
    REFERENCING NEW TABLE AS nouveau FOR EACH STATEMENT WHEN (NOT changements_differes()) EXECUTE FUNCTION changements_responsables();
DROP TRIGGER IF EXISTS responsables_changements_modification ON responsables;
CREATE TRIGGER responsables_changements_modification AFTER UPDATE ON responsables
    REFERENCING OLD TABLE AS ancien NEW TABLE AS nouveau FOR EACH STATEMENT WHEN (NOT changements_differes()) EXECUTE FUNCTION changements_responsables();
DROP TRIGGER IF EXISTS responsables_changements_suppression ON responsables;
CREATE TRIGGER responsables_changements_suppression AFTER DELETE ON responsables
    REFERENCING OLD TABLE AS ancien FOR EACH STATEMENT WHEN (NOT changements_differes()) EXECUTE FUNCTION changements_responsables();
