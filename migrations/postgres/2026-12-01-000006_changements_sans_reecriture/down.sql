-- The function as the change-feed migration created it.
-- Records events (ids, operations, former keys) of one resource type with their keys.
CREATE OR REPLACE FUNCTION changements_noter(p_ressource TEXT, p_ids TEXT[], p_ops TEXT[], p_anciennes TEXT[],
                                  p_cle_ids TEXT[], p_cles TEXT[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    x BIGINT := pg_current_xact_id()::text::bigint;
BEGIN
    IF p_ids IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
    SELECT DISTINCT ON (e.id) x, p_ressource, e.id, e.op, e.anc, timezone('utc', clock_timestamp())
    FROM (SELECT u.id, COALESCE(u.op, 'modification') AS op, u.anc
          FROM unnest(p_ids, p_ops, p_anciennes) AS u(id, op, anc)) AS e
    WHERE e.id IS NOT NULL
    ORDER BY e.id, changements_rang(e.op) DESC, e.anc
    ON CONFLICT (xid, ressource, ressource_id) DO UPDATE SET
        operation = CASE WHEN changements_rang(EXCLUDED.operation) > changements_rang(changements.operation)
                         THEN EXCLUDED.operation ELSE changements.operation END,
        ancienne_cle = COALESCE(changements.ancienne_cle, EXCLUDED.ancienne_cle);
    INSERT INTO changements_portee (cle, xid, seq)
    SELECT DISTINCT k.cle, c.xid, c.seq
    FROM unnest(p_cle_ids, p_cles) AS k(id, cle)
    JOIN changements c ON c.xid = x AND c.ressource = p_ressource AND c.ressource_id = k.id
    WHERE k.cle IS NOT NULL
    ON CONFLICT DO NOTHING;
END
$$;


CREATE OR REPLACE FUNCTION changements_inscriptions() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids TEXT[]; ops TEXT[]; eleves TEXT[]; uais TEXT[]; vis BOOLEAN[];
    k_ids TEXT[]; k_cles TEXT[]; v_ids TEXT[]; v_cles TEXT[];
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
    SELECT array_agg(t.id), array_agg(k.cle) INTO k_ids, k_cles
    FROM unnest(ids, uais) AS t(id, uai) JOIN changements_cles_ecoles(uais) k ON k.uai = t.uai;
    PERFORM changements_noter('inscription', ids, ops, NULL, k_ids, k_cles);
    SELECT array_agg(t.eleve), array_agg(k.cle) INTO v_ids, v_cles
    FROM unnest(eleves, uais, vis) AS t(eleve, uai, vis) JOIN changements_cles_ecoles(uais) k ON k.uai = t.uai
    WHERE t.vis;
    PERFORM changements_noter_visibilite(v_ids, v_cles);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION changements_liens() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    eleves TEXT[]; k_ids TEXT[]; k_cles TEXT[];
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
    SELECT array_agg(k.id), array_agg(k.cle) INTO k_ids, k_cles FROM changements_cles_eleves(eleves) k;
    PERFORM changements_noter('eleve', ARRAY(SELECT DISTINCT unnest(eleves)), NULL, NULL, k_ids, k_cles);
    -- The guardians linked or unlinked, under their pupil's keys.
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(n.responsable_id), array_agg(k.cle) INTO k_ids, k_cles
        FROM nouveau n LEFT JOIN changements_cles_eleves(eleves) k ON k.id = n.eleve_id;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(a.responsable_id), array_agg(k.cle) INTO k_ids, k_cles
        FROM ancien a LEFT JOIN changements_cles_eleves(eleves) k ON k.id = a.eleve_id;
    ELSE
        SELECT array_agg(x.responsable_id), array_agg(k.cle) INTO k_ids, k_cles
        FROM (SELECT a.responsable_id, a.eleve_id FROM ancien a UNION SELECT n.responsable_id, n.eleve_id FROM nouveau n) x
        LEFT JOIN changements_cles_eleves(eleves) k ON k.id = x.eleve_id;
    END IF;
    PERFORM changements_noter('responsable', k_ids, NULL, NULL, k_ids, k_cles);
    RETURN NULL;
END
$$;
