-- Replaceable schema of the change feed (SQLite): links between pupils and guardians.
-- Re-applied after the migrations when the base differs (crates/store/src/definitions.rs), in one
-- transaction: edit this file, not a migration, to change it (DROP IF EXISTS + CREATE).


-- Links: the guardian and the pupil both change, under the pupil's keys.
DROP TRIGGER IF EXISTS liens_changements_insertion;
CREATE TRIGGER liens_changements_insertion AFTER INSERT ON eleves_responsables
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'eleve', NEW.eleve_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'eleve' AND c.ressource_id = NEW.eleve_id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves e WHERE e.id = NEW.eleve_id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai WHERE i.eleve_id = NEW.eleve_id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM inscriptions i WHERE i.eleve_id = NEW.eleve_id AND i.statut <> 'radie') AS k WHERE k.cle IS NOT NULL;
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'responsable', NEW.responsable_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'responsable' AND c.ressource_id = NEW.responsable_id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves e WHERE e.id = NEW.eleve_id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai WHERE i.eleve_id = NEW.eleve_id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM inscriptions i WHERE i.eleve_id = NEW.eleve_id AND i.statut <> 'radie') AS k WHERE k.cle IS NOT NULL;
END;

DROP TRIGGER IF EXISTS liens_changements_modification;
CREATE TRIGGER liens_changements_modification AFTER UPDATE ON eleves_responsables
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus) AND (OLD.eleve_id IS NOT NEW.eleve_id OR OLD.responsable_id IS NOT NEW.responsable_id OR OLD.lien IS NOT NEW.lien OR OLD.autorite_parentale IS NOT NEW.autorite_parentale OR OLD.rang IS NOT NEW.rang)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'eleve', OLD.eleve_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'eleve' AND c.ressource_id = OLD.eleve_id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves e WHERE e.id = OLD.eleve_id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai WHERE i.eleve_id = OLD.eleve_id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM inscriptions i WHERE i.eleve_id = OLD.eleve_id AND i.statut <> 'radie') AS k WHERE k.cle IS NOT NULL;
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'responsable', OLD.responsable_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'responsable' AND c.ressource_id = OLD.responsable_id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves e WHERE e.id = OLD.eleve_id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai WHERE i.eleve_id = OLD.eleve_id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM inscriptions i WHERE i.eleve_id = OLD.eleve_id AND i.statut <> 'radie') AS k WHERE k.cle IS NOT NULL;
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'eleve', NEW.eleve_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'eleve' AND c.ressource_id = NEW.eleve_id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves e WHERE e.id = NEW.eleve_id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai WHERE i.eleve_id = NEW.eleve_id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM inscriptions i WHERE i.eleve_id = NEW.eleve_id AND i.statut <> 'radie') AS k WHERE k.cle IS NOT NULL;
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'responsable', NEW.responsable_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'responsable' AND c.ressource_id = NEW.responsable_id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves e WHERE e.id = NEW.eleve_id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai WHERE i.eleve_id = NEW.eleve_id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM inscriptions i WHERE i.eleve_id = NEW.eleve_id AND i.statut <> 'radie') AS k WHERE k.cle IS NOT NULL;
END;

DROP TRIGGER IF EXISTS liens_changements_suppression;
CREATE TRIGGER liens_changements_suppression AFTER DELETE ON eleves_responsables
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'eleve', OLD.eleve_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'eleve' AND c.ressource_id = OLD.eleve_id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves e WHERE e.id = OLD.eleve_id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai WHERE i.eleve_id = OLD.eleve_id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM inscriptions i WHERE i.eleve_id = OLD.eleve_id AND i.statut <> 'radie') AS k WHERE k.cle IS NOT NULL;
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'responsable', OLD.responsable_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'responsable' AND c.ressource_id = OLD.responsable_id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves e WHERE e.id = OLD.eleve_id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai WHERE i.eleve_id = OLD.eleve_id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM inscriptions i WHERE i.eleve_id = OLD.eleve_id AND i.statut <> 'radie') AS k WHERE k.cle IS NOT NULL;
END;
