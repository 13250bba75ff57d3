-- Nothing to revert: see up.sql.
--
-- It used to replace function bodies or triggers here. Those definitions now live in the
-- replaceable schema (crates/store/sql/postgres/changements_*.sql), applied after the migrations on every
-- start; the migration stays, emptied, because databases record its version.
SELECT 1;
