-- Replaceable schema of the change feed (SQLite): guardians.
-- Re-applied after the migrations when the base differs (crates/store/src/definitions.rs), in one
-- transaction: edit this file, not a migration, to change it (DROP IF EXISTS + CREATE).


-- Guardians: seen through their pupils, keyed by their pupils' keys; the pupils, whose records
-- carry their guardians, change with them.
DROP TRIGGER IF EXISTS responsables_changements_insertion;
CREATE TRIGGER responsables_changements_insertion AFTER INSERT ON responsables
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'responsable', NEW.id, 'creation', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'responsable' AND c.ressource_id = NEW.id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves_responsables l2 JOIN eleves e ON e.id = l2.eleve_id WHERE l2.responsable_id = NEW.id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM eleves_responsables l2 JOIN inscriptions i ON i.eleve_id = l2.eleve_id JOIN ecoles ec ON ec.uai = i.uai WHERE l2.responsable_id = NEW.id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM eleves_responsables l2 JOIN inscriptions i ON i.eleve_id = l2.eleve_id WHERE l2.responsable_id = NEW.id AND i.statut <> 'radie') AS k WHERE k.cle IS NOT NULL;
END;

DROP TRIGGER IF EXISTS responsables_changements_modification;
CREATE TRIGGER responsables_changements_modification AFTER UPDATE ON responsables
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus) AND (OLD.id IS NOT NEW.id OR OLD.nom IS NOT NEW.nom OR OLD.prenom IS NOT NEW.prenom OR OLD.telephone IS NOT NEW.telephone OR OLD.courriel IS NOT NEW.courriel OR OLD.adresse IS NOT NEW.adresse OR OLD.cree_le IS NOT NEW.cree_le OR OLD.modifie_le IS NOT NEW.modifie_le)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'responsable', NEW.id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'responsable' AND c.ressource_id = NEW.id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves_responsables l2 JOIN eleves e ON e.id = l2.eleve_id WHERE l2.responsable_id = NEW.id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM eleves_responsables l2 JOIN inscriptions i ON i.eleve_id = l2.eleve_id JOIN ecoles ec ON ec.uai = i.uai WHERE l2.responsable_id = NEW.id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM eleves_responsables l2 JOIN inscriptions i ON i.eleve_id = l2.eleve_id WHERE l2.responsable_id = NEW.id AND i.statut <> 'radie') AS k WHERE k.cle IS NOT NULL;
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        SELECT 0, 'eleve', l.eleve_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now') FROM eleves_responsables l WHERE l.responsable_id = NEW.id;
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'eleve' AND c.ressource_id = l.eleve_id)
        FROM eleves_responsables l, (SELECT 'c:' || e.adresse_commune AS cle FROM eleves_responsables l2 JOIN eleves e ON e.id = l2.eleve_id WHERE l2.responsable_id = NEW.id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM eleves_responsables l2 JOIN inscriptions i ON i.eleve_id = l2.eleve_id JOIN ecoles ec ON ec.uai = i.uai WHERE l2.responsable_id = NEW.id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM eleves_responsables l2 JOIN inscriptions i ON i.eleve_id = l2.eleve_id WHERE l2.responsable_id = NEW.id AND i.statut <> 'radie') AS k WHERE l.responsable_id = NEW.id;
END;

DROP TRIGGER IF EXISTS responsables_changements_suppression;
CREATE TRIGGER responsables_changements_suppression AFTER DELETE ON responsables
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'responsable', OLD.id, 'suppression', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'responsable' AND c.ressource_id = OLD.id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves_responsables l2 JOIN eleves e ON e.id = l2.eleve_id WHERE l2.responsable_id = OLD.id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM eleves_responsables l2 JOIN inscriptions i ON i.eleve_id = l2.eleve_id JOIN ecoles ec ON ec.uai = i.uai WHERE l2.responsable_id = OLD.id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM eleves_responsables l2 JOIN inscriptions i ON i.eleve_id = l2.eleve_id WHERE l2.responsable_id = OLD.id AND i.statut <> 'radie') AS k WHERE k.cle IS NOT NULL;
END;
