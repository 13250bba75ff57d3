-- Replaceable schema of the change feed (PostgreSQL): the helpers every trigger and the bulk path call.
-- Re-applied after the migrations when the base differs (crates/store/src/definitions.rs), in one
-- transaction under the migrations' advisory lock: edit this file, not a migration, to change
-- it. CREATE OR REPLACE for functions, DROP IF EXISTS + CREATE for triggers.

-- Which operation an event of several merged statements reports.
CREATE OR REPLACE FUNCTION changements_rang(op TEXT) RETURNS INTEGER LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE op WHEN 'suppression' THEN 5 WHEN 'creation' THEN 4 WHEN 'changement_cle' THEN 3
                   WHEN 'radiation' THEN 2 ELSE 1 END
$$;

-- Records events (ids, operations, former keys) of one resource type with their perimeter keys
-- ('c:<INSEE>', 'u:<UAI>'). A new event holds its first two communes and first two UAIs (text
-- order) in its columns, written with the row itself: no key row, no probe. What does not fit
-- goes to changements_cles, joined to the rows the INSERT returns. An event this transaction had
-- already written (a second statement touching the same resource) merges: its operation and
-- former key as before, and every key it did not hold yet goes to changements_cles.
CREATE OR REPLACE FUNCTION changements_noter(p_ressource TEXT, p_ids TEXT[], p_ops TEXT[], p_anciennes TEXT[],
                                  p_cle_ids TEXT[], p_cles TEXT[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    x BIGINT := pg_current_xact_id()::text::bigint;
    deja TEXT[] := '{}';
BEGIN
    IF p_ids IS NULL THEN
        RETURN;
    END IF;
    -- One probe tells whether this transaction already noted this type (the bulk path's chunk
    -- never has: it notes each type once); only then are the ids looked up one by one.
    IF EXISTS (SELECT 1 FROM changements WHERE xid = x AND ressource = p_ressource) THEN
        SELECT coalesce(array_agg(c.ressource_id), '{}') INTO deja FROM changements c
        WHERE c.xid = x AND c.ressource = p_ressource AND c.ressource_id = ANY (p_ids);
    END IF;
    WITH cles AS (
        SELECT DISTINCT k.id, k.cle FROM unnest(p_cle_ids, p_cles) AS k(id, cle)
        WHERE k.id IS NOT NULL AND k.cle IS NOT NULL),
    rangees AS (
        SELECT id, cle, left(cle, 2) AS genre, substr(cle, 3) AS valeur,
               row_number() OVER (PARTITION BY id, left(cle, 2) ORDER BY cle) AS rang
        FROM cles),
    colonnes AS (
        SELECT id, max(valeur) FILTER (WHERE genre = 'c:' AND rang = 1) AS commune,
               max(valeur) FILTER (WHERE genre = 'c:' AND rang = 2) AS commune_bis,
               max(valeur) FILTER (WHERE genre = 'u:' AND rang = 1) AS uai,
               max(valeur) FILTER (WHERE genre = 'u:' AND rang = 2) AS uai_bis
        FROM rangees GROUP BY id),
    ecrits AS (
        INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage,
                                 commune, commune_bis, uai, uai_bis)
        SELECT DISTINCT ON (e.id) x, p_ressource, e.id, e.op, e.anc, timezone('utc', clock_timestamp()),
               k.commune, k.commune_bis, k.uai, k.uai_bis
        FROM (SELECT u.id, COALESCE(u.op, 'modification') AS op, u.anc
              FROM unnest(p_ids, p_ops, p_anciennes) AS u(id, op, anc)) AS e
        LEFT JOIN colonnes k ON k.id = e.id
        WHERE e.id IS NOT NULL
        ORDER BY e.id, changements_rang(e.op) DESC, e.anc
        ON CONFLICT (xid, ressource, ressource_id) DO UPDATE SET
            operation = CASE WHEN changements_rang(EXCLUDED.operation) > changements_rang(changements.operation)
                             THEN EXCLUDED.operation ELSE changements.operation END,
            ancienne_cle = COALESCE(changements.ancienne_cle, EXCLUDED.ancienne_cle)
        WHERE changements_rang(EXCLUDED.operation) > changements_rang(changements.operation)
           OR (changements.ancienne_cle IS NULL AND EXCLUDED.ancienne_cle IS NOT NULL)
        RETURNING ressource_id, seq)
    INSERT INTO changements_cles (cle, xid, seq)
    SELECT r.cle, x, w.seq FROM rangees r JOIN ecrits w ON w.ressource_id = r.id
    WHERE (r.rang > 2 OR r.genre NOT IN ('c:', 'u:')) AND NOT (r.id = ANY (deja))
    ON CONFLICT DO NOTHING;
    IF cardinality(deja) > 0 THEN
        INSERT INTO changements_cles (cle, xid, seq)
        SELECT DISTINCT k.cle, c.xid, c.seq
        FROM unnest(p_cle_ids, p_cles) AS k(id, cle)
        JOIN changements c ON c.xid = x AND c.ressource = p_ressource AND c.ressource_id = k.id
        WHERE k.id = ANY (deja) AND k.cle IS NOT NULL
          AND k.cle IS DISTINCT FROM 'c:' || c.commune AND k.cle IS DISTINCT FROM 'c:' || c.commune_bis
          AND k.cle IS DISTINCT FROM 'u:' || c.uai AND k.cle IS DISTINCT FROM 'u:' || c.uai_bis
        ON CONFLICT DO NOTHING;
    END IF;
END
$$;

-- Keys of schools: their UAI (even one just corrected away) and their commune.
CREATE OR REPLACE FUNCTION changements_cles_ecoles(p_uais TEXT[]) RETURNS TABLE (uai TEXT, cle TEXT) LANGUAGE sql STABLE AS $$
    SELECT u.uai, 'u:' || u.uai FROM unnest(p_uais) AS u(uai)
    UNION
    SELECT e.uai, 'c:' || e.code_commune FROM ecoles e WHERE e.uai = ANY (p_uais)
$$;

-- Keys of pupils: their commune of residence, the schools of their active inscriptions.
CREATE OR REPLACE FUNCTION changements_cles_eleves(p_ids TEXT[]) RETURNS TABLE (id TEXT, cle TEXT) LANGUAGE sql STABLE AS $$
    SELECT e.id, 'c:' || e.adresse_commune FROM eleves e
    WHERE e.id = ANY (p_ids) AND e.adresse_commune IS NOT NULL
    UNION
    SELECT i.eleve_id, k.cle FROM inscriptions i JOIN ecoles e ON e.uai = i.uai
    CROSS JOIN LATERAL (VALUES ('c:' || e.code_commune), ('u:' || e.uai)) AS k(cle)
    WHERE i.eleve_id = ANY (p_ids) AND i.statut <> 'radie'
$$;

-- A pupil's visibility may have changed (pairs pupil id / key): the pupil and its guardians,
-- whom partners see through it, are noted under those keys.
CREATE OR REPLACE FUNCTION changements_noter_visibilite(p_eleves TEXT[], p_cles TEXT[]) RETURNS void LANGUAGE plpgsql AS $$
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

-- Whether the bulk path (crates/store/src/imports/postgres.rs) stands the statement triggers
-- aside for this transaction: it writes the same events itself from its staging tables, once
-- per chunk. The setting is transaction-local (set_config(..., true)), undone with the
-- transaction or the savepoint it was set in.
CREATE OR REPLACE FUNCTION changements_differes() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('onde.changements_differes', true), '') = 'on'
$$;
