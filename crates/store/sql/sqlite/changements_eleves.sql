-- Replaceable schema of the change feed (SQLite): pupils.
-- Re-applied after the migrations when the base differs (crates/store/src/definitions.rs), in one
-- transaction: edit this file, not a migration, to change it (DROP IF EXISTS + CREATE).


-- Pupils: a change of INE is a key change; a new residence moves the pupil and its guardians.
DROP TRIGGER IF EXISTS eleves_changements_insertion;
CREATE TRIGGER eleves_changements_insertion AFTER INSERT ON eleves
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'eleve', NEW.id, 'creation', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'eleve' AND c.ressource_id = NEW.id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves e WHERE e.id = NEW.id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai WHERE i.eleve_id = NEW.id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM inscriptions i WHERE i.eleve_id = NEW.id AND i.statut <> 'radie') AS k WHERE k.cle IS NOT NULL;
END;

DROP TRIGGER IF EXISTS eleves_changements_modification;
CREATE TRIGGER eleves_changements_modification AFTER UPDATE ON eleves
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus) AND (OLD.id IS NOT NEW.id OR OLD.ine IS NOT NEW.ine OR OLD.nom IS NOT NEW.nom OR OLD.prenom1 IS NOT NEW.prenom1 OR OLD.prenom2 IS NOT NEW.prenom2 OR OLD.prenom3 IS NOT NEW.prenom3 OR OLD.sexe IS NOT NEW.sexe OR OLD.date_naissance IS NOT NEW.date_naissance OR OLD.lieu_naissance IS NOT NEW.lieu_naissance OR OLD.adresse_voie IS NOT NEW.adresse_voie OR OLD.adresse_code_postal IS NOT NEW.adresse_code_postal OR OLD.adresse_commune IS NOT NEW.adresse_commune OR OLD.cree_le IS NOT NEW.cree_le OR OLD.modifie_le IS NOT NEW.modifie_le OR OLD.version IS NOT NEW.version OR OLD.cle_doublon IS NOT NEW.cle_doublon)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'eleve', NEW.id, CASE WHEN OLD.ine IS NOT NULL AND OLD.ine IS NOT NEW.ine THEN 'changement_cle' ELSE 'modification' END, CASE WHEN OLD.ine IS NOT NULL AND OLD.ine IS NOT NEW.ine THEN OLD.ine END, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'eleve' AND c.ressource_id = NEW.id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves e WHERE e.id = NEW.id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai WHERE i.eleve_id = NEW.id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM inscriptions i WHERE i.eleve_id = NEW.id AND i.statut <> 'radie' UNION SELECT 'c:' || OLD.adresse_commune) AS k WHERE k.cle IS NOT NULL;
END;

DROP TRIGGER IF EXISTS eleves_changements_residence;
CREATE TRIGGER eleves_changements_residence AFTER UPDATE ON eleves
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus) AND (OLD.adresse_commune IS NOT NEW.adresse_commune)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'eleve', NEW.id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'eleve' AND c.ressource_id = NEW.id)
        FROM (SELECT 'c:' || OLD.adresse_commune AS cle UNION SELECT 'c:' || NEW.adresse_commune) AS k WHERE k.cle IS NOT NULL;
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        SELECT 0, 'responsable', l.responsable_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now') FROM eleves_responsables l WHERE l.eleve_id = NEW.id;
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'responsable' AND c.ressource_id = l.responsable_id)
        FROM eleves_responsables l, (SELECT 'c:' || OLD.adresse_commune AS cle UNION SELECT 'c:' || NEW.adresse_commune) AS k WHERE l.eleve_id = NEW.id AND k.cle IS NOT NULL;
END;

DROP TRIGGER IF EXISTS eleves_changements_suppression;
CREATE TRIGGER eleves_changements_suppression AFTER DELETE ON eleves
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'eleve', OLD.id, 'suppression', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'eleve' AND c.ressource_id = OLD.id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves e WHERE e.id = OLD.id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai WHERE i.eleve_id = OLD.id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM inscriptions i WHERE i.eleve_id = OLD.id AND i.statut <> 'radie' UNION SELECT 'c:' || OLD.adresse_commune) AS k WHERE k.cle IS NOT NULL;
END;

-- Every inscription embeds its pupil's summary (`eleve`: INE, nom, prenoms, sexe,
-- date_naissance, as GET /v1/inscriptions shows it): a change of one of those fields is a
-- change of each of the pupil's inscriptions, radiated ones included (the lists return them),
-- under its school's keys (see sql/postgres/changements_eleves.sql). Only those fields: an address or a
-- guardian changes no inscription.
DROP TRIGGER IF EXISTS eleves_changements_resume;
CREATE TRIGGER eleves_changements_resume AFTER UPDATE ON eleves
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus) AND (OLD.ine IS NOT NEW.ine OR OLD.nom IS NOT NEW.nom OR OLD.prenom1 IS NOT NEW.prenom1 OR OLD.prenom2 IS NOT NEW.prenom2 OR OLD.prenom3 IS NOT NEW.prenom3 OR OLD.sexe IS NOT NEW.sexe OR OLD.date_naissance IS NOT NEW.date_naissance)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        SELECT 0, 'inscription', i.id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now') FROM inscriptions i WHERE i.eleve_id = NEW.id;
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'inscription' AND c.ressource_id = k.id)
        FROM (SELECT i.id, 'u:' || i.uai AS cle FROM inscriptions i WHERE i.eleve_id = NEW.id
              UNION SELECT i.id, 'c:' || ec.code_commune FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai WHERE i.eleve_id = NEW.id) AS k
        WHERE k.cle IS NOT NULL;
END;
