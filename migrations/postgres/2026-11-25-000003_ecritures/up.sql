-- Idempotency of writes: the first answer to a key, stored in the same transaction as the
-- write's effects, so that a retry after a crash either finds it or finds nothing done.
CREATE TABLE idempotence (
    partenaire_id TEXT NOT NULL,
    cle TEXT NOT NULL CHECK (length(cle) BETWEEN 1 AND 255),
    -- SHA-256 of method, path and body: the same key with another request is refused.
    empreinte TEXT NOT NULL,
    statut INTEGER NOT NULL,
    corps TEXT NOT NULL,
    -- JSON object of the headers to replay (Location, ETag).
    entetes TEXT NOT NULL,
    -- Space-separated ids of the pupils the answer shows: a replay is refused once they leave
    -- the caller's perimeter, and is traced in the audit trail like the first answer.
    eleves TEXT NOT NULL,
    cree_le TIMESTAMP NOT NULL,
    PRIMARY KEY (partenaire_id, cle)
);
CREATE INDEX idempotence_par_date ON idempotence (cree_le);
