-- Replaceable schema of the change feed (SQLite): schools.
-- Re-applied after the migrations when the base differs (crates/store/src/definitions.rs), in one
-- transaction: edit this file, not a migration, to change it (DROP IF EXISTS + CREATE).


-- Schools: a corrected UAI is a key change.
DROP TRIGGER IF EXISTS ecoles_changements_insertion;
CREATE TRIGGER ecoles_changements_insertion AFTER INSERT ON ecoles
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'ecole', NEW.uai, 'creation', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'ecole' AND c.ressource_id = NEW.uai)
        FROM (SELECT 'c:' || NEW.code_commune AS cle UNION SELECT 'u:' || NEW.uai) AS k WHERE k.cle IS NOT NULL;
END;

DROP TRIGGER IF EXISTS ecoles_changements_modification;
CREATE TRIGGER ecoles_changements_modification AFTER UPDATE ON ecoles
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus) AND (OLD.uai IS NOT NEW.uai OR OLD.nom IS NOT NEW.nom OR OLD.type_ecole IS NOT NEW.type_ecole OR OLD.secteur IS NOT NEW.secteur OR OLD.code_commune IS NOT NEW.code_commune OR OLD.circonscription IS NOT NEW.circonscription OR OLD.adresse IS NOT NEW.adresse OR OLD.rpi IS NOT NEW.rpi OR OLD.date_ouverture IS NOT NEW.date_ouverture OR OLD.date_fermeture IS NOT NEW.date_fermeture)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'ecole', NEW.uai, CASE WHEN OLD.uai <> NEW.uai THEN 'changement_cle' ELSE 'modification' END, CASE WHEN OLD.uai <> NEW.uai THEN OLD.uai END, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'ecole' AND c.ressource_id = NEW.uai)
        FROM (SELECT 'c:' || OLD.code_commune AS cle UNION SELECT 'u:' || OLD.uai UNION SELECT 'c:' || NEW.code_commune UNION SELECT 'u:' || NEW.uai) AS k WHERE k.cle IS NOT NULL;
END;

DROP TRIGGER IF EXISTS ecoles_changements_suppression;
CREATE TRIGGER ecoles_changements_suppression AFTER DELETE ON ecoles
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'ecole', OLD.uai, 'suppression', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'ecole' AND c.ressource_id = OLD.uai)
        FROM (SELECT 'c:' || OLD.code_commune AS cle UNION SELECT 'u:' || OLD.uai) AS k WHERE k.cle IS NOT NULL;
END;
