-- The guardians of new and changed pupils ($1: the instant).
-- Part of the set-based chunk: crates/store/src/imports/postgres.rs, `appliquer`.
INSERT INTO responsables (id, nom, prenom, telephone, courriel, adresse, cree_le, modifie_le)
SELECT r.id, r.nom, r.prenom, r.telephone, r.courriel, r.adresse, $1, $1
  FROM etape_responsables r JOIN etape_eleves s ON s.ligne = r.ligne
 WHERE NOT s.rejete AND s.etat IN ('cree', 'modifie')
