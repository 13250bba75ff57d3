-- A running import stops at its next chunk when its partner is revoked, suspended, loses
-- eleves:write or the perimeter the job writes in: it ends `interrompu`, with why in `motif` (its committed chunks stay applied).
-- SQLite cannot change a CHECK in place: both tables are rebuilt, the rejection reports kept
-- aside first (dropping `imports` would cascade to them).
CREATE TABLE imports_rejets_copie AS SELECT * FROM imports_rejets;
DROP TABLE imports_rejets;

CREATE TABLE imports_nouveau (
    id TEXT NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    -- NULL for a national import run by the operations team from the CLI.
    partenaire_id TEXT,
    client_id TEXT,
    format TEXT NOT NULL CHECK (format IN ('ndjson', 'csv')),
    mode TEXT NOT NULL CHECK (mode IN ('partiel')),
    statut TEXT NOT NULL CHECK (statut IN ('en_attente', 'en_cours', 'termine', 'echoue', 'interrompu')),
    -- Data lines of the file, known once the job has counted them.
    total BIGINT,
    traites BIGINT NOT NULL DEFAULT 0,
    crees BIGINT NOT NULL DEFAULT 0,
    modifies BIGINT NOT NULL DEFAULT 0,
    inchanges BIGINT NOT NULL DEFAULT 0,
    rejetes BIGINT NOT NULL DEFAULT 0,
    cree_le TIMESTAMP NOT NULL,
    debut_le TIMESTAMP,
    fin_le TIMESTAMP,
    -- Last sign of life of the worker (each committed chunk): a job whose worker stopped
    -- beating is marked failed by any node (see onde_store::imports::marquer_abandonnes).
    battement_le TIMESTAMP,
    erreur TEXT,
    -- Why an `interrompu` job stopped.
    motif TEXT CHECK (motif IN ('partenaire_revoque', 'partenaire_suspendu', 'scope_retire', 'perimetre_reduit')),
    CHECK ((statut = 'interrompu') = (motif IS NOT NULL)),
    CHECK (traites >= 0 AND crees >= 0 AND modifies >= 0 AND inchanges >= 0 AND rejetes >= 0),
    CHECK (crees + modifies + inchanges + rejetes = traites)
);
INSERT INTO imports_nouveau (id, partenaire_id, client_id, format, mode, statut, total, traites, crees,
    modifies, inchanges, rejetes, cree_le, debut_le, fin_le, battement_le, erreur)
SELECT id, partenaire_id, client_id, format, mode, statut, total, traites, crees,
    modifies, inchanges, rejetes, cree_le, debut_le, fin_le, battement_le, erreur FROM imports;
DROP TABLE imports;
ALTER TABLE imports_nouveau RENAME TO imports;
CREATE INDEX imports_par_partenaire ON imports (partenaire_id, cree_le);
CREATE INDEX imports_par_statut ON imports (statut, battement_le);

-- One row per violation of a rejected line (a line may break several rules).
CREATE TABLE imports_rejets (
    import_id TEXT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    -- Line of the file, from 1 (the CSV header is line 1).
    ligne BIGINT NOT NULL CHECK (ligne >= 1),
    rang INTEGER NOT NULL CHECK (rang >= 1),
    -- JSON pointer into the line's record ({"eleve": ..., "inscriptions": [...]}, also for CSV).
    pointeur TEXT NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (import_id, ligne, rang)
);
INSERT INTO imports_rejets (import_id, ligne, rang, pointeur, code, message)
    SELECT import_id, ligne, rang, pointeur, code, message FROM imports_rejets_copie;
DROP TABLE imports_rejets_copie;
