-- The links of new and changed pupils, then the former guardians no pupil is left to.
-- Part of the set-based chunk: crates/store/src/imports/postgres.rs, `appliquer`.
INSERT INTO eleves_responsables (eleve_id, responsable_id, lien, autorite_parentale, rang)
SELECT s.eleve_id, r.id, r.lien, r.autorite_parentale, r.rang
  FROM etape_responsables r JOIN etape_eleves s ON s.ligne = r.ligne
 WHERE NOT s.rejete AND s.etat IN ('cree', 'modifie');
DELETE FROM responsables g USING etape_anciens_responsables a
 WHERE g.id = a.responsable_id
   AND NOT EXISTS (SELECT 1 FROM eleves_responsables x WHERE x.responsable_id = g.id);
