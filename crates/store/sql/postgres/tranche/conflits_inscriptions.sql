-- Inscriptions conflicting with another school's active one this year, or a status change the
-- domain's state machine forbids (the legal changes bound as two arrays: from $1[i] to $2[i]); the
-- first of a line names it.
-- Part of the set-based chunk: crates/store/src/imports/postgres.rs, `appliquer`.
SELECT DISTINCT ON (s.ligne) s.ligne, s.pointeur, a.uai AS uai_active, a.annee_scolaire,
      a.statut AS statut_actuel, s.statut AS statut_pousse, (a.uai <> s.uai) AS autre_ecole
 FROM etape_inscriptions s
 JOIN etape_eleves e ON e.ligne = s.ligne
 JOIN inscriptions a ON a.eleve_id = e.eleve_id AND a.annee_scolaire = s.annee_scolaire AND a.statut <> 'radie'
WHERE NOT e.rejete AND (e.rang_faute IS NULL OR s.rang < e.rang_faute)
  AND (a.uai <> s.uai OR (a.statut <> s.statut AND (a.statut, s.statut) NOT IN
       (SELECT t.de, t.vers FROM unnest($1::text[], $2::text[]) AS t(de, vers))))
ORDER BY s.ligne, s.rang
