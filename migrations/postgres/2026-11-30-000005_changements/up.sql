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

-- The functions and triggers that write these tables are not here: they are the replaceable
-- schema, crates/store/sql/postgres/changements_*.sql, applied after the migrations on every
-- start (crates/store/src/definitions.rs).
