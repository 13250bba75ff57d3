-- Matched pupils the perimeter does not see (communes $1, UAIs $2): an active inscription in one
-- of its schools, or residence in one of its communes (onde_store::perimetre::eleves); the
-- residence is the one the match read (`ancienne_commune`), so the pupils are not read again.
-- Part of the set-based chunk: crates/store/src/imports/postgres.rs, `appliquer`.
SELECT s.ligne FROM etape_eleves s
 WHERE s.eleve_id IS NOT NULL
   AND NOT (coalesce(s.ancienne_commune = ANY($1), FALSE)
            OR EXISTS (SELECT 1 FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai
                        WHERE i.eleve_id = s.eleve_id AND i.statut <> 'radie'
                          AND (ec.code_commune = ANY($1) OR ec.uai = ANY($2))))
