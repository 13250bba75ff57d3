-- The pupil trigger as the change-feed migration created it (no inscription events on a new summary).
CREATE OR REPLACE FUNCTION changements_eleves() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids TEXT[]; ops TEXT[]; anc TEXT[]; k_ids TEXT[]; k_cles TEXT[]; v_ids TEXT[]; v_cles TEXT[];
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
    END IF;
    PERFORM changements_noter('eleve', ids, ops, anc, k_ids, k_cles);
    RETURN NULL;
END
$$;
