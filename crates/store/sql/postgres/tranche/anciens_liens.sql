-- The links of changed pupils are deleted (their guardians are replaced), remembered for the feed
-- and the orphans.
-- Part of the set-based chunk: crates/store/src/imports/postgres.rs, `appliquer`.
WITH liens AS (
   DELETE FROM eleves_responsables l USING etape_eleves s
    WHERE NOT s.rejete AND s.etat = 'modifie' AND l.eleve_id = s.eleve_id
   RETURNING l.eleve_id, l.responsable_id)
INSERT INTO etape_anciens_responsables SELECT eleve_id, responsable_id FROM liens
