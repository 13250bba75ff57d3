-- Replaceable schema of the change feed (PostgreSQL): inscriptions.
-- Re-applied after the migrations when the base differs (crates/store/src/definitions.rs), in one
-- transaction under the migrations' advisory lock: edit this file, not a migration, to change
-- it. CREATE OR REPLACE for functions, DROP IF EXISTS + CREATE for triggers.

-- Inscriptions: keyed by their school before and after; the pupil (and its guardians) too when
-- the change can move it in or out of a perimeter (new, deleted, other school, radiated).
CREATE OR REPLACE FUNCTION changements_inscriptions() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids TEXT[]; ops TEXT[]; eleves TEXT[]; uais TEXT[]; vis BOOLEAN[];
    k_ids TEXT[]; k_cles TEXT[]; v_ids TEXT[]; v_cles TEXT[]; e_uais TEXT[]; e_cles TEXT[];
BEGIN
    IF EXISTS (SELECT 1 FROM changements_suspendus) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(n.id), array_agg('creation'::text), array_agg(n.eleve_id), array_agg(n.uai), array_agg(TRUE)
          INTO ids, ops, eleves, uais, vis FROM nouveau n;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(a.id), array_agg('suppression'::text), array_agg(a.eleve_id), array_agg(a.uai), array_agg(TRUE)
          INTO ids, ops, eleves, uais, vis FROM ancien a;
    ELSE
        SELECT array_agg(n.id),
               array_agg(CASE WHEN n.statut = 'radie' AND a.statut <> 'radie' THEN 'radiation' ELSE 'modification' END),
               array_agg(n.eleve_id), array_agg(u.uai),
               array_agg(a.uai <> n.uai OR (a.statut = 'radie') <> (n.statut = 'radie') OR a.eleve_id <> n.eleve_id)
          INTO ids, ops, eleves, uais, vis
        FROM ancien a JOIN nouveau n ON n.id = a.id
        CROSS JOIN LATERAL (VALUES (a.uai), (n.uai)) AS u(uai)
        WHERE (a.*) IS DISTINCT FROM (n.*);
    END IF;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT array_agg(k.uai), array_agg(k.cle) INTO e_uais, e_cles FROM changements_cles_ecoles(uais) k;
    SELECT array_agg(t.id), array_agg(k.cle) INTO k_ids, k_cles
    FROM unnest(ids, uais) AS t(id, uai) JOIN unnest(e_uais, e_cles) AS k(uai, cle) ON k.uai = t.uai;
    PERFORM changements_noter('inscription', ids, ops, NULL, k_ids, k_cles);
    SELECT array_agg(t.eleve), array_agg(k.cle) INTO v_ids, v_cles
    FROM unnest(eleves, uais, vis) AS t(eleve, uai, vis) JOIN unnest(e_uais, e_cles) AS k(uai, cle) ON k.uai = t.uai
    WHERE t.vis;
    PERFORM changements_noter_visibilite(v_ids, v_cles);
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS inscriptions_changements_insertion ON inscriptions;
CREATE TRIGGER inscriptions_changements_insertion AFTER INSERT ON inscriptions
    REFERENCING NEW TABLE AS nouveau FOR EACH STATEMENT WHEN (NOT changements_differes()) EXECUTE FUNCTION changements_inscriptions();
DROP TRIGGER IF EXISTS inscriptions_changements_modification ON inscriptions;
CREATE TRIGGER inscriptions_changements_modification AFTER UPDATE ON inscriptions
    REFERENCING OLD TABLE AS ancien NEW TABLE AS nouveau FOR EACH STATEMENT WHEN (NOT changements_differes()) EXECUTE FUNCTION changements_inscriptions();
DROP TRIGGER IF EXISTS inscriptions_changements_suppression ON inscriptions;
CREATE TRIGGER inscriptions_changements_suppression AFTER DELETE ON inscriptions
    REFERENCING OLD TABLE AS ancien FOR EACH STATEMENT WHEN (NOT changements_differes()) EXECUTE FUNCTION changements_inscriptions();
