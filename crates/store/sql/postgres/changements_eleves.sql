-- Replaceable schema of the change feed (PostgreSQL): pupils.
-- Re-applied after the migrations when the base differs (crates/store/src/definitions.rs), in one
-- transaction under the migrations' advisory lock: edit this file, not a migration, to change
-- it. CREATE OR REPLACE for functions, DROP IF EXISTS + CREATE for triggers.

-- Pupils: a change of INE is a key change; a change of residence moves the pupil (and its
-- guardians) in or out of mairies' perimeters.
-- A new summary (INE, names, sex, birth date) is a change of every inscription of the pupil:
-- each embeds it (GET /v1/inscriptions). An address or a guardian changes no inscription.
CREATE OR REPLACE FUNCTION changements_eleves() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids TEXT[]; ops TEXT[]; anc TEXT[]; k_ids TEXT[]; k_cles TEXT[]; v_ids TEXT[]; v_cles TEXT[];
    r_ids TEXT[]; r_cles TEXT[];
BEGIN
    IF EXISTS (SELECT 1 FROM changements_suspendus) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(n.id), array_agg('creation'::text) INTO ids, ops FROM nouveau n;
        SELECT array_agg(k.id), array_agg(k.cle) INTO k_ids, k_cles FROM changements_cles_eleves(ids) k;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(a.id), array_agg('suppression'::text) INTO ids, ops FROM ancien a;
        SELECT array_agg(t.id), array_agg(t.cle) INTO k_ids, k_cles FROM (
            SELECT a.id, 'c:' || a.adresse_commune AS cle FROM ancien a WHERE a.adresse_commune IS NOT NULL
            UNION SELECT k.id, k.cle FROM changements_cles_eleves(ids) k) t;
    ELSE
        SELECT array_agg(n.id),
               array_agg(CASE WHEN a.ine IS NOT NULL AND a.ine IS DISTINCT FROM n.ine THEN 'changement_cle' ELSE 'modification' END),
               array_agg(CASE WHEN a.ine IS NOT NULL AND a.ine IS DISTINCT FROM n.ine THEN a.ine END)
          INTO ids, ops, anc
        FROM ancien a JOIN nouveau n ON n.id = a.id WHERE (a.*) IS DISTINCT FROM (n.*);
        SELECT array_agg(t.id), array_agg(t.cle) INTO k_ids, k_cles FROM (
            SELECT a.id, 'c:' || a.adresse_commune AS cle FROM ancien a
            WHERE a.adresse_commune IS NOT NULL AND a.id = ANY (ids)
            UNION SELECT k.id, k.cle FROM changements_cles_eleves(ids) k) t;
        -- A new residence: the guardians move with the pupil.
        SELECT array_agg(t.id), array_agg(t.cle) INTO v_ids, v_cles FROM (
            SELECT a.id, 'c:' || a.adresse_commune AS cle FROM ancien a JOIN nouveau n ON n.id = a.id
            WHERE a.adresse_commune IS DISTINCT FROM n.adresse_commune AND a.adresse_commune IS NOT NULL
            UNION SELECT n.id, 'c:' || n.adresse_commune FROM ancien a JOIN nouveau n ON n.id = a.id
            WHERE a.adresse_commune IS DISTINCT FROM n.adresse_commune AND n.adresse_commune IS NOT NULL) t;
        PERFORM changements_noter_visibilite(v_ids, v_cles);
        -- A new summary (INE, names, sex, birth date): every inscription of the pupil shows it,
        -- radiated ones included (the lists return them), under its school's keys.
        SELECT array_agg(i.id), array_agg(k.cle) INTO r_ids, r_cles
        FROM ancien a JOIN nouveau n ON n.id = a.id
        JOIN inscriptions i ON i.eleve_id = n.id
        JOIN ecoles e ON e.uai = i.uai
        CROSS JOIN LATERAL (VALUES ('c:' || e.code_commune), ('u:' || e.uai)) AS k(cle)
        WHERE ROW(a.ine, a.nom, a.prenom1, a.prenom2, a.prenom3, a.sexe, a.date_naissance)
              IS DISTINCT FROM ROW(n.ine, n.nom, n.prenom1, n.prenom2, n.prenom3, n.sexe, n.date_naissance);
        PERFORM changements_noter('inscription', r_ids, NULL, NULL, r_ids, r_cles);
    END IF;
    PERFORM changements_noter('eleve', ids, ops, anc, k_ids, k_cles);
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS eleves_changements_insertion ON eleves;
CREATE TRIGGER eleves_changements_insertion AFTER INSERT ON eleves
    REFERENCING NEW TABLE AS nouveau FOR EACH STATEMENT WHEN (NOT changements_differes()) EXECUTE FUNCTION changements_eleves();
DROP TRIGGER IF EXISTS eleves_changements_modification ON eleves;
CREATE TRIGGER eleves_changements_modification AFTER UPDATE ON eleves
    REFERENCING OLD TABLE AS ancien NEW TABLE AS nouveau FOR EACH STATEMENT WHEN (NOT changements_differes()) EXECUTE FUNCTION changements_eleves();
DROP TRIGGER IF EXISTS eleves_changements_suppression ON eleves;
CREATE TRIGGER eleves_changements_suppression AFTER DELETE ON eleves
    REFERENCING OLD TABLE AS ancien FOR EACH STATEMENT WHEN (NOT changements_differes()) EXECUTE FUNCTION changements_eleves();
