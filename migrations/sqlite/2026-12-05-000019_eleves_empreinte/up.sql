-- A pupil's content fingerprint (issue 18 item 2): SHA-256 of its stored record and guardians,
-- computed in Rust by every write path (crates/store/src/empreinte.rs). A re-pushed record
-- whose fingerprint equals the stored one is unchanged without re-reading its columns and
-- guardians. NULL means unknown (rows written before this migration, or by the bulk seed):
-- those are compared column by column, as before, so no backfill is needed.
ALTER TABLE eleves ADD COLUMN empreinte BLOB;
