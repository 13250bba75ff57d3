-- Every inscription embeds its pupil's summary (`eleve`: INE, nom, prenoms, sexe,
-- date_naissance, as GET /v1/inscriptions shows it): a change of one of those fields is a
-- change of each of the pupil's inscriptions, radiated ones included (the lists return them),
-- under its school's keys (see the PostgreSQL migration). Only those fields: an address or a
-- guardian changes no inscription.
CREATE TRIGGER eleves_changements_resume AFTER UPDATE ON eleves
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus) AND (OLD.ine IS NOT NEW.ine OR OLD.nom IS NOT NEW.nom OR OLD.prenom1 IS NOT NEW.prenom1 OR OLD.prenom2 IS NOT NEW.prenom2 OR OLD.prenom3 IS NOT NEW.prenom3 OR OLD.sexe IS NOT NEW.sexe OR OLD.date_naissance IS NOT NEW.date_naissance)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        SELECT 0, 'inscription', i.id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now') FROM inscriptions i WHERE i.eleve_id = NEW.id;
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'inscription' AND c.ressource_id = k.id)
        FROM (SELECT i.id, 'u:' || i.uai AS cle FROM inscriptions i WHERE i.eleve_id = NEW.id
              UNION SELECT i.id, 'c:' || ec.code_commune FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai WHERE i.eleve_id = NEW.id) AS k
        WHERE k.cle IS NOT NULL;
END;
