-- Each line's pupil matched by INE (its id, residence and version as read) and classified in the
-- same pass: `inchange` when the stored fingerprint (crates/store/src/empreinte.rs) equals the
-- record's, `modifie` when it differs. A pupil without one (NULL: written before the column
-- existed, or seeded) is compared column by column and by its guardians, each side's list made
-- into one text by the same expression (rank, names, link, authority, contacts, separated by
-- control characters), so equal lists give equal text; CASE evaluates those subqueries only for
-- such pupils. Unmatched lines stay `cree`. `resume_modifie`: the summary its inscriptions embed
-- changes (the feed notes them). Lines rejected later for the perimeter are classified too, and
-- never looked at again. Returns the matched lines.
-- Part of the set-based chunk: crates/store/src/imports/postgres.rs, `appliquer`.
WITH trouves AS (
UPDATE etape_eleves s SET eleve_id = e.id, ancienne_commune = e.adresse_commune, version_lue = e.version,
  etat = CASE
    WHEN e.empreinte IS NOT NULL THEN CASE WHEN e.empreinte = s.empreinte THEN 'inchange' ELSE 'modifie' END
    WHEN ROW(e.nom, e.prenom1, e.prenom2, e.prenom3, e.sexe, e.date_naissance, e.lieu_naissance,
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
  -- Each line probes the pupils' INE index (LATERAL, OFFSET 0): planned on the staging
  -- table's estimate, a join hashed every pupil of the base, all their columns, per chunk.
  FROM etape_eleves t CROSS JOIN LATERAL (SELECT * FROM eleves x WHERE x.ine = t.ine OFFSET 0) AS e
 WHERE t.ligne = s.ligne
  RETURNING s.ligne, s.eleve_id, s.etat)
SELECT ligne, eleve_id, etat FROM trouves
