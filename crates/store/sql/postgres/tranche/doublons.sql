-- A new or changed record whose duplicate key another pupil holds, and whether the caller sees
-- that pupil (communes $1, UAIs $2; both NULL for a national caller, who sees every pupil).
-- Part of the set-based chunk: crates/store/src/imports/postgres.rs, `appliquer`.
SELECT DISTINCT ON (s.ligne) s.ligne, x.id, x.ine,
       ($1::text[] IS NULL
        OR (coalesce(x.adresse_commune = ANY($1), FALSE)
            OR EXISTS (SELECT 1 FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai
                        WHERE i.eleve_id = x.id AND i.statut <> 'radie'
                          AND (ec.code_commune = ANY($1) OR ec.uai = ANY($2))))) AS visible
   FROM etape_eleves s JOIN eleves x ON x.cle_doublon = s.cle_doublon
  WHERE NOT s.rejete AND s.etat IN ('cree', 'modifie') AND (s.eleve_id IS NULL OR x.id <> s.eleve_id)
  ORDER BY s.ligne, x.id
