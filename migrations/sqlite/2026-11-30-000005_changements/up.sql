-- Change feed (GET /v1/changements): one row per change of a partner-visible resource, written
-- by triggers inside the writing transaction (see the PostgreSQL migration for the design).
--
-- Order, and no skipped change: SQLite has one writer at a time, which holds the write lock
-- from its first write to its commit, so the AUTOINCREMENT seq of committed rows grows in
-- commit order and a reader's snapshot always holds a prefix of it. xid stays 0 here.
CREATE TABLE changements (
    xid BIGINT NOT NULL DEFAULT 0,
    -- A rowid alias: SQLite's 64-bit auto-increment key.
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ressource TEXT NOT NULL CHECK (ressource IN ('ecole', 'eleve', 'inscription', 'responsable')),
    ressource_id TEXT NOT NULL,
    operation TEXT NOT NULL CHECK (operation IN ('creation', 'modification', 'changement_cle', 'radiation', 'suppression')),
    ancienne_cle TEXT,
    horodatage TIMESTAMP NOT NULL
);
-- Not unique here (no transaction id to merge on): finds an event's seq within a trigger.
CREATE INDEX changements_par_transaction ON changements (xid, ressource, ressource_id);

CREATE TABLE changements_portee (
    cle TEXT NOT NULL,
    xid BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (cle, xid, seq)
) WITHOUT ROWID;

-- While a row exists here the triggers record nothing: only the seed of an empty base writes
-- one, inside its own transaction, deleted before it commits (see the PostgreSQL migration).
CREATE TABLE changements_suspendus (
    raison TEXT NOT NULL PRIMARY KEY
);

-- The triggers that write these tables are not here: they are the replaceable schema,
-- crates/store/sql/sqlite/changements_*.sql, applied after the migrations on every start
-- (crates/store/src/definitions.rs).
