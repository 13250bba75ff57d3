-- Each matched pupil is `inchange` when its columns and its guardians are equal, else `modifie`;
-- the others `cree`. Guardians are compared by a fingerprint built by the same expression on both
-- sides (rank, names, link, authority, contacts, separated by control characters), so equal lists
-- give equal text. `resume_modifie`: the summary its inscriptions embed changes (the feed notes
-- them).
-- Part of the set-based chunk: crates/store/src/imports/postgres.rs, `appliquer`.
UPDATE etape_eleves s SET etat = CASE WHEN
    ROW(e.nom, e.prenom1, e.prenom2, e.prenom3, e.sexe, e.date_naissance, e.lieu_naissance,
        e.adresse_voie, e.adresse_code_postal, e.adresse_commune,
        (SELECT string_agg(concat_ws(chr(31), l.rang::text, g.nom, g.prenom, l.lien, l.autorite_parentale::text,
                                  coalesce(g.telephone, chr(30)), coalesce(g.courriel, chr(30)),
                                  coalesce(g.adresse, chr(30))), chr(29) ORDER BY l.rang)
           FROM eleves_responsables l JOIN responsables g ON g.id = l.responsable_id
          WHERE l.eleve_id = e.id))
    IS NOT DISTINCT FROM
    ROW(s.nom, s.prenom1, s.prenom2, s.prenom3, s.sexe, s.date_naissance, s.lieu_naissance,
        s.adresse_voie, s.adresse_code_postal, s.adresse_commune,
        (SELECT string_agg(concat_ws(chr(31), r.rang::text, r.nom, r.prenom, r.lien, r.autorite_parentale::text,
                                  coalesce(r.telephone, chr(30)), coalesce(r.courriel, chr(30)),
                                  coalesce(r.adresse, chr(30))), chr(29) ORDER BY r.rang)
           FROM etape_responsables r WHERE r.ligne = s.ligne))
    THEN 'inchange' ELSE 'modifie' END,
  resume_modifie = ROW(e.nom, e.prenom1, e.prenom2, e.prenom3, e.sexe, e.date_naissance)
    IS DISTINCT FROM ROW(s.nom, s.prenom1, s.prenom2, s.prenom3, s.sexe, s.date_naissance)
  FROM eleves e WHERE e.id = s.eleve_id AND NOT s.rejete;
UPDATE etape_eleves SET etat = 'cree' WHERE eleve_id IS NULL AND NOT rejete;
