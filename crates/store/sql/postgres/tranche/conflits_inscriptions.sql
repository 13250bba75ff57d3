-- The pushed inscriptions of matched or new pupils that are not already stored as pushed: each
-- with the active inscription of its year, if any, and whether it conflicts with it (another
-- school's, or a status change the domain's state machine forbids: the legal changes bound as
-- two arrays, from $1[i] to $2[i]). The first conflicting one of a line names its rejection; the
-- others are what the inscription statements will write (none: they are not run). An
-- inscription equal to the active one at the same school (with `date_admission` kept when the
-- push leaves it out, as inscriptions_modifiees.sql writes it) is not returned.
-- Part of the set-based chunk: crates/store/src/imports/postgres.rs, `appliquer`.
SELECT s.ligne, s.pointeur, a.uai AS uai_active, a.annee_scolaire, a.statut AS statut_actuel,
       s.statut AS statut_pousse, coalesce(a.uai <> s.uai, FALSE) AS autre_ecole,
       coalesce(a.uai <> s.uai OR (a.statut <> s.statut AND (a.statut, s.statut) NOT IN
                (SELECT t.de, t.vers FROM unnest($1::text[], $2::text[]) AS t(de, vers))), FALSE) AS conflit
  FROM etape_inscriptions s
  JOIN etape_eleves e ON e.ligne = s.ligne
  LEFT JOIN inscriptions a ON a.eleve_id = e.eleve_id AND a.annee_scolaire = s.annee_scolaire AND a.statut <> 'radie'
 WHERE NOT e.rejete AND (e.rang_faute IS NULL OR s.rang < e.rang_faute)
   AND (a.id IS NULL OR a.uai <> s.uai
        OR ROW(a.niveau, a.classe, a.dispositif, a.statut, a.admission_provisoire, a.date_admission)
           IS DISTINCT FROM
           ROW(s.niveau, s.classe, s.dispositif, s.statut, s.admission_provisoire,
               coalesce(s.date_admission, a.date_admission)))
 ORDER BY s.ligne, s.rang
