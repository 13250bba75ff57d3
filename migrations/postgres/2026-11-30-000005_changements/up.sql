-- Change feed (GET /v1/changements): one row per change of a partner-visible resource, written
-- by triggers inside the writing transaction, so that no write path (API, batch, import,
-- retention, manual SQL) can forget it and nothing uncommitted is ever announced.
--
-- Order, and no skipped change: rows sort by (xid, seq), xid being the writing transaction's
-- id. A reader returns only rows whose xid is below the oldest transaction still running
-- (pg_snapshot_xmin of its snapshot): every transaction that may still commit rows sorts after
-- them, so a cursor never passes a row that becomes visible later. A sequence number alone
-- would not do: allocated before commit, it can become visible after a reader has passed it.
CREATE TABLE changements (
    xid BIGINT NOT NULL,
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    ressource TEXT NOT NULL CHECK (ressource IN ('ecole', 'eleve', 'inscription', 'responsable')),
    -- UAI of a school, internal id of the others.
    ressource_id TEXT NOT NULL,
    operation TEXT NOT NULL CHECK (operation IN ('creation', 'modification', 'changement_cle', 'radiation', 'suppression')),
    -- The key a mirror knew the resource by, for a key change (provisional INE, corrected UAI).
    ancienne_cle TEXT,
    horodatage TIMESTAMP NOT NULL,
    PRIMARY KEY (xid, seq)
);
-- One event per resource and transaction: the statements of one transaction merge into it.
CREATE UNIQUE INDEX changements_par_transaction ON changements (xid, ressource, ressource_id);

-- The perimeters a change concerns, before and after it (so the partner that loses a row hears
-- of it): 'c:<INSEE code>' (the commune's schools, pupils living there) and 'u:<UAI>'. A
-- restricted reader walks only its own keys; what it may see is decided when it reads.
CREATE TABLE changements_portee (
    cle TEXT NOT NULL,
    xid BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (cle, xid, seq)
);

-- While a row exists here the triggers record nothing. Only the seed of an empty base writes
-- one, inside its own transaction and deleted before it commits: no other session ever sees
-- it, and partners start from a cursor taken after the seed (a snapshot, not a history).
CREATE TABLE changements_suspendus (
    raison TEXT NOT NULL PRIMARY KEY
);

-- Which operation an event of several merged statements reports.
CREATE FUNCTION changements_rang(op TEXT) RETURNS INTEGER LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE op WHEN 'suppression' THEN 5 WHEN 'creation' THEN 4 WHEN 'changement_cle' THEN 3
                   WHEN 'radiation' THEN 2 ELSE 1 END
$$;

-- Records events (ids, operations, former keys) of one resource type with their keys.
CREATE FUNCTION changements_noter(p_ressource TEXT, p_ids TEXT[], p_ops TEXT[], p_anciennes TEXT[],
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

-- Keys of schools: their UAI (even one just corrected away) and their commune.
CREATE FUNCTION changements_cles_ecoles(p_uais TEXT[]) RETURNS TABLE (uai TEXT, cle TEXT) LANGUAGE sql STABLE AS $$
    SELECT u.uai, 'u:' || u.uai FROM unnest(p_uais) AS u(uai)
    UNION
    SELECT e.uai, 'c:' || e.code_commune FROM ecoles e WHERE e.uai = ANY (p_uais)
$$;

-- Keys of pupils: their commune of residence, the schools of their active inscriptions.
CREATE FUNCTION changements_cles_eleves(p_ids TEXT[]) RETURNS TABLE (id TEXT, cle TEXT) LANGUAGE sql STABLE AS $$
    SELECT e.id, 'c:' || e.adresse_commune FROM eleves e
    WHERE e.id = ANY (p_ids) AND e.adresse_commune IS NOT NULL
    UNION
    SELECT i.eleve_id, k.cle FROM inscriptions i JOIN ecoles e ON e.uai = i.uai
    CROSS JOIN LATERAL (VALUES ('c:' || e.code_commune), ('u:' || e.uai)) AS k(cle)
    WHERE i.eleve_id = ANY (p_ids) AND i.statut <> 'radie'
$$;

-- A pupil's visibility may have changed (pairs pupil id / key): the pupil and its guardians,
-- whom partners see through it, are noted under those keys.
CREATE FUNCTION changements_noter_visibilite(p_eleves TEXT[], p_cles TEXT[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    ids TEXT[]; r_ids TEXT[]; r_cles TEXT[];
BEGIN
    IF p_eleves IS NULL THEN
        RETURN;
    END IF;
    SELECT array_agg(DISTINCT e) INTO ids FROM unnest(p_eleves) AS e;
    PERFORM changements_noter('eleve', ids, NULL, NULL, p_eleves, p_cles);
    SELECT array_agg(l.responsable_id), array_agg(k.cle) INTO r_ids, r_cles
    FROM unnest(p_eleves, p_cles) AS k(eleve, cle)
    JOIN eleves_responsables l ON l.eleve_id = k.eleve;
    PERFORM changements_noter('responsable', r_ids, NULL, NULL, r_ids, r_cles);
END
$$;

-- Schools: row by row (rare writes), so that a corrected UAI pairs its old and new values.
CREATE FUNCTION changements_ecoles() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER ecoles_changements AFTER INSERT OR UPDATE OR DELETE ON ecoles
    FOR EACH ROW EXECUTE FUNCTION changements_ecoles();

-- Pupils: a change of INE is a key change; a change of residence moves the pupil (and its
-- guardians) in or out of mairies' perimeters.
CREATE FUNCTION changements_eleves() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER eleves_changements_insertion AFTER INSERT ON eleves
    REFERENCING NEW TABLE AS nouveau FOR EACH STATEMENT EXECUTE FUNCTION changements_eleves();
CREATE TRIGGER eleves_changements_modification AFTER UPDATE ON eleves
    REFERENCING OLD TABLE AS ancien NEW TABLE AS nouveau FOR EACH STATEMENT EXECUTE FUNCTION changements_eleves();
CREATE TRIGGER eleves_changements_suppression AFTER DELETE ON eleves
    REFERENCING OLD TABLE AS ancien FOR EACH STATEMENT EXECUTE FUNCTION changements_eleves();

-- Inscriptions: keyed by their school before and after; the pupil (and its guardians) too when
-- the change can move it in or out of a perimeter (new, deleted, other school, radiated).
CREATE FUNCTION changements_inscriptions() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER inscriptions_changements_insertion AFTER INSERT ON inscriptions
    REFERENCING NEW TABLE AS nouveau FOR EACH STATEMENT EXECUTE FUNCTION changements_inscriptions();
CREATE TRIGGER inscriptions_changements_modification AFTER UPDATE ON inscriptions
    REFERENCING OLD TABLE AS ancien NEW TABLE AS nouveau FOR EACH STATEMENT EXECUTE FUNCTION changements_inscriptions();
CREATE TRIGGER inscriptions_changements_suppression AFTER DELETE ON inscriptions
    REFERENCING OLD TABLE AS ancien FOR EACH STATEMENT EXECUTE FUNCTION changements_inscriptions();

-- Guardians: seen through their pupils, so keyed by their pupils' keys; the pupils, whose
-- records carry their guardians, change with them.
CREATE FUNCTION changements_responsables() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER responsables_changements_insertion AFTER INSERT ON responsables
    REFERENCING NEW TABLE AS nouveau FOR EACH STATEMENT EXECUTE FUNCTION changements_responsables();
CREATE TRIGGER responsables_changements_modification AFTER UPDATE ON responsables
    REFERENCING OLD TABLE AS ancien NEW TABLE AS nouveau FOR EACH STATEMENT EXECUTE FUNCTION changements_responsables();
CREATE TRIGGER responsables_changements_suppression AFTER DELETE ON responsables
    REFERENCING OLD TABLE AS ancien FOR EACH STATEMENT EXECUTE FUNCTION changements_responsables();

-- Links: the guardian and the pupil both change, under the pupil's keys.
CREATE FUNCTION changements_liens() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER liens_changements_insertion AFTER INSERT ON eleves_responsables
    REFERENCING NEW TABLE AS nouveau FOR EACH STATEMENT EXECUTE FUNCTION changements_liens();
CREATE TRIGGER liens_changements_modification AFTER UPDATE ON eleves_responsables
    REFERENCING OLD TABLE AS ancien NEW TABLE AS nouveau FOR EACH STATEMENT EXECUTE FUNCTION changements_liens();
CREATE TRIGGER liens_changements_suppression AFTER DELETE ON eleves_responsables
    REFERENCING OLD TABLE AS ancien FOR EACH STATEMENT EXECUTE FUNCTION changements_liens();
