-- Inscriptions updated where the pushed one differs ($1: the instant); the pupil's line becomes
-- `modifie`.
-- Part of the set-based chunk: crates/store/src/imports/postgres.rs, `appliquer`.
WITH maj AS (
   UPDATE inscriptions a SET niveau = s.niveau, classe = s.classe, dispositif = s.dispositif,
          statut = s.statut, admission_provisoire = s.admission_provisoire,
          date_admission = coalesce(s.date_admission, a.date_admission),
          modifie_le = $1, version = a.version + 1
     FROM etape_inscriptions s JOIN etape_eleves e ON e.ligne = s.ligne
    WHERE NOT e.rejete AND a.eleve_id = e.eleve_id AND a.annee_scolaire = s.annee_scolaire
      AND a.statut <> 'radie' AND a.uai = s.uai
      AND ROW(a.niveau, a.classe, a.dispositif, a.statut, a.admission_provisoire, a.date_admission)
          IS DISTINCT FROM
          ROW(s.niveau, s.classe, s.dispositif, s.statut, s.admission_provisoire,
              coalesce(s.date_admission, a.date_admission))
   RETURNING s.ligne, a.id, a.eleve_id, a.uai),
notees AS (
   INSERT INTO etape_inscriptions_ecrites SELECT id, eleve_id, uai, 'modification' FROM maj)
UPDATE etape_eleves SET etat = 'modifie' WHERE etat = 'inchange' AND ligne IN (SELECT ligne FROM maj)
