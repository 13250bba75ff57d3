-- The change feed's retention (`onde-echanges changements purger`): every event at or before
-- this position has been deleted, with its perimeter keys. A cursor before it cannot be resumed
-- without skipping changes: its reader gets 410 and starts again from a snapshot. One row at most.
CREATE TABLE changements_purge (
    id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    xid BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    purge_le TIMESTAMP NOT NULL
);
