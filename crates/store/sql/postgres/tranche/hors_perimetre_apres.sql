-- Pupils without an inscription in the line that would be outside the perimeter (communes $1, UAIs
-- $2) once written: no residence in it, no active inscription in one of its schools.
-- Part of the set-based chunk: crates/store/src/imports/postgres.rs, `appliquer`.
SELECT s.ligne, s.eleve_id IS NULL AS nouveau FROM etape_eleves s
WHERE NOT s.rejete AND s.nb_inscriptions = 0
  AND NOT coalesce(s.adresse_commune = ANY($1), FALSE)
  AND NOT (s.eleve_id IS NOT NULL
           AND EXISTS (SELECT 1 FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai
                        WHERE i.eleve_id = s.eleve_id AND i.statut <> 'radie'
                          AND (ec.code_commune = ANY($1) OR ec.uai = ANY($2))))
