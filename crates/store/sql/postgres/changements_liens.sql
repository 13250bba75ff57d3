-- Replaceable schema of the change feed (PostgreSQL): links between pupils and guardians.
-- Re-applied after the migrations when the base differs (crates/store/src/definitions.rs), in one
-- transaction under the migrations' advisory lock: edit this file, not a migration, to change
-- it. CREATE OR REPLACE for functions, DROP IF EXISTS + CREATE for triggers.

-- Links: the guardian and the pupil both change, under the pupil's keys.
CREATE OR REPLACE FUNCTION changements_liens() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    eleves TEXT[]; k_ids TEXT[]; k_cles TEXT[]; e_ids TEXT[]; e_cles TEXT[];
BEGIN
    IF EXISTS (SELECT 1 FROM changements_suspendus) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(n.eleve_id) INTO eleves FROM nouveau n;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(a.eleve_id) INTO eleves FROM ancien a;
    ELSE
        SELECT array_agg(x.eleve_id) INTO eleves FROM (
            SELECT a.eleve_id FROM ancien a UNION SELECT n.eleve_id FROM nouveau n) x;
    END IF;
    SELECT array_agg(k.id), array_agg(k.cle) INTO e_ids, e_cles FROM changements_cles_eleves(eleves) k;
    PERFORM changements_noter('eleve', ARRAY(SELECT DISTINCT unnest(eleves)), NULL, NULL, e_ids, e_cles);
    -- The guardians linked or unlinked, under their pupil's keys.
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(n.responsable_id), array_agg(k.cle) INTO k_ids, k_cles
        FROM nouveau n LEFT JOIN unnest(e_ids, e_cles) AS k(id, cle) ON k.id = n.eleve_id;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(a.responsable_id), array_agg(k.cle) INTO k_ids, k_cles
        FROM ancien a LEFT JOIN unnest(e_ids, e_cles) AS k(id, cle) ON k.id = a.eleve_id;
    ELSE
        SELECT array_agg(x.responsable_id), array_agg(k.cle) INTO k_ids, k_cles
        FROM (SELECT a.responsable_id, a.eleve_id FROM ancien a UNION SELECT n.responsable_id, n.eleve_id FROM nouveau n) x
        LEFT JOIN unnest(e_ids, e_cles) AS k(id, cle) ON k.id = x.eleve_id;
    END IF;
    PERFORM changements_noter('responsable', k_ids, NULL, NULL, k_ids, k_cles);
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS liens_changements_insertion ON eleves_responsables;
CREATE TRIGGER liens_changements_insertion AFTER INSERT ON eleves_responsables
    REFERENCING NEW TABLE AS nouveau FOR EACH STATEMENT WHEN (NOT changements_differes()) EXECUTE FUNCTION changements_liens();
DROP TRIGGER IF EXISTS liens_changements_modification ON eleves_responsables;
CREATE TRIGGER liens_changements_modification AFTER UPDATE ON eleves_responsables
    REFERENCING OLD TABLE AS ancien NEW TABLE AS nouveau FOR EACH STATEMENT WHEN (NOT changements_differes()) EXECUTE FUNCTION changements_liens();
DROP TRIGGER IF EXISTS liens_changements_suppression ON eleves_responsables;
CREATE TRIGGER liens_changements_suppression AFTER DELETE ON eleves_responsables
    REFERENCING OLD TABLE AS ancien FOR EACH STATEMENT WHEN (NOT changements_differes()) EXECUTE FUNCTION changements_liens();
