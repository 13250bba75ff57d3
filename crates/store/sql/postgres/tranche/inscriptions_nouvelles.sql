-- Inscriptions inserted where the pupil has no active one that year ($1: the instant).
-- Part of the set-based chunk: crates/store/src/imports/postgres.rs, `appliquer`.
WITH nouvelles AS (
   INSERT INTO inscriptions (id, eleve_id, uai, annee_scolaire, niveau, classe, dispositif, statut,
                             admission_provisoire, date_inscription, date_admission, cree_le, modifie_le,
                             version)
   SELECT s.nouvel_id, e.eleve_id, s.uai, s.annee_scolaire, s.niveau, s.classe, s.dispositif, s.statut,
          s.admission_provisoire, s.date_inscription, s.date_admission_creation, $1, $1, 1
     FROM etape_inscriptions s JOIN etape_eleves e ON e.ligne = s.ligne
    WHERE NOT e.rejete
      AND NOT EXISTS (SELECT 1 FROM inscriptions a
                       WHERE a.eleve_id = e.eleve_id AND a.annee_scolaire = s.annee_scolaire
                         AND a.statut <> 'radie')
   RETURNING id, eleve_id, uai),
notees AS (
   INSERT INTO etape_inscriptions_ecrites SELECT id, eleve_id, uai, 'creation' FROM nouvelles)
UPDATE etape_eleves SET etat = 'modifie'
 WHERE etat = 'inchange' AND eleve_id IN (SELECT eleve_id FROM nouvelles)
