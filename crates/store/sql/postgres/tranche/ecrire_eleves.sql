-- New and changed pupils written with their fingerprint ($1: the instant), only the row matched
-- and checked before, still at the version read; the staging table learns each pupil's id and
-- whether it was created.
-- Part of the set-based chunk: crates/store/src/imports/postgres.rs, `appliquer`.
WITH ecrits AS (
   INSERT INTO eleves (id, ine, nom, prenom1, prenom2, prenom3, sexe, date_naissance, lieu_naissance,
                       adresse_voie, adresse_code_postal, adresse_commune, cree_le, modifie_le, version,
                       cle_doublon, empreinte)
   SELECT nouvel_id, ine, nom, prenom1, prenom2, prenom3, sexe, date_naissance, lieu_naissance,
          adresse_voie, adresse_code_postal, adresse_commune, $1, $1, 1, cle_doublon, empreinte
     FROM etape_eleves WHERE NOT rejete AND etat IN ('cree', 'modifie')
   -- Only the row matched and checked above, still at the version read: a pupil
   -- another writer created or changed since is left alone (the line is rejected).
   ON CONFLICT (ine) DO UPDATE SET
       nom = EXCLUDED.nom, prenom1 = EXCLUDED.prenom1, prenom2 = EXCLUDED.prenom2,
       prenom3 = EXCLUDED.prenom3, sexe = EXCLUDED.sexe, date_naissance = EXCLUDED.date_naissance,
       lieu_naissance = EXCLUDED.lieu_naissance, adresse_voie = EXCLUDED.adresse_voie,
       adresse_code_postal = EXCLUDED.adresse_code_postal, adresse_commune = EXCLUDED.adresse_commune,
       modifie_le = EXCLUDED.modifie_le, version = eleves.version + 1, cle_doublon = EXCLUDED.cle_doublon,
       empreinte = EXCLUDED.empreinte
     WHERE (eleves.id, eleves.version) IN
           (SELECT m.eleve_id, m.version_lue FROM etape_eleves m WHERE m.ine = EXCLUDED.ine)
   RETURNING id, ine, CASE WHEN xmax = 0 THEN 'cree' ELSE 'modifie' END AS etat)
UPDATE etape_eleves s SET eleve_id = w.id, etat = w.etat, ecriture = w.etat
  FROM ecrits w WHERE w.ine = s.ine
