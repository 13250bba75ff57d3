-- Replaceable schema of the change feed (PostgreSQL): the helpers every trigger and the bulk path call.
-- Re-applied after the migrations when the base differs (crates/store/src/definitions.rs), in one
-- transaction under the migrations' advisory lock: edit this file, not a migration, to change
-- it. CREATE OR REPLACE for functions, DROP IF EXISTS + CREATE for triggers.

-- Which operation an event of several merged statements reports.
CREATE OR REPLACE FUNCTION changements_rang(op TEXT) RETURNS INTEGER LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE op WHEN 'suppression' THEN 5 WHEN 'creation' THEN 4 WHEN 'changement_cle' THEN 3
                   WHEN 'radiation' THEN 2 ELSE 1 END
$$;

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
        ancienne_cle = COALESCE(changements.ancienne_cle, EXCLUDED.ancienne_cle)
    WHERE changements_rang(EXCLUDED.operation) > changements_rang(changements.operation)
       OR (changements.ancienne_cle IS NULL AND EXCLUDED.ancienne_cle IS NOT NULL);
    INSERT INTO changements_portee (cle, xid, seq)
    SELECT DISTINCT k.cle, c.xid, c.seq
    FROM unnest(p_cle_ids, p_cles) AS k(id, cle)
    JOIN changements c ON c.xid = x AND c.ressource = p_ressource AND c.ressource_id = k.id
    WHERE k.cle IS NOT NULL
    ON CONFLICT DO NOTHING;
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
