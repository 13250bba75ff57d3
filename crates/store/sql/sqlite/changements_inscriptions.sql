-- Replaceable schema of the change feed (SQLite): inscriptions.
-- Re-applied after the migrations when the base differs (crates/store/src/definitions.rs), in one
-- transaction: edit this file, not a migration, to change it (DROP IF EXISTS + CREATE).


-- Inscriptions: keyed by their school before and after; the pupil and its guardians too when
-- the change can move the pupil in or out of a perimeter.
DROP TRIGGER IF EXISTS inscriptions_changements_insertion;
CREATE TRIGGER inscriptions_changements_insertion AFTER INSERT ON inscriptions
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'inscription', NEW.id, 'creation', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'inscription' AND c.ressource_id = NEW.id)
        FROM (SELECT 'u:' || NEW.uai AS cle UNION SELECT 'c:' || ec.code_commune FROM ecoles ec WHERE ec.uai = NEW.uai) AS k WHERE k.cle IS NOT NULL;
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'eleve', NEW.eleve_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'eleve' AND c.ressource_id = NEW.eleve_id)
        FROM (SELECT 'u:' || NEW.uai AS cle UNION SELECT 'c:' || ec.code_commune FROM ecoles ec WHERE ec.uai = NEW.uai) AS k WHERE k.cle IS NOT NULL;
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        SELECT 0, 'responsable', l.responsable_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now') FROM eleves_responsables l WHERE l.eleve_id = NEW.eleve_id;
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'responsable' AND c.ressource_id = l.responsable_id)
        FROM eleves_responsables l, (SELECT 'u:' || NEW.uai AS cle UNION SELECT 'c:' || ec.code_commune FROM ecoles ec WHERE ec.uai = NEW.uai) AS k WHERE l.eleve_id = NEW.eleve_id AND k.cle IS NOT NULL;
END;

DROP TRIGGER IF EXISTS inscriptions_changements_modification;
CREATE TRIGGER inscriptions_changements_modification AFTER UPDATE ON inscriptions
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus) AND (OLD.id IS NOT NEW.id OR OLD.eleve_id IS NOT NEW.eleve_id OR OLD.uai IS NOT NEW.uai OR OLD.annee_scolaire IS NOT NEW.annee_scolaire OR OLD.niveau IS NOT NEW.niveau OR OLD.classe IS NOT NEW.classe OR OLD.dispositif IS NOT NEW.dispositif OR OLD.statut IS NOT NEW.statut OR OLD.admission_provisoire IS NOT NEW.admission_provisoire OR OLD.date_inscription IS NOT NEW.date_inscription OR OLD.date_admission IS NOT NEW.date_admission OR OLD.date_radiation IS NOT NEW.date_radiation OR OLD.motif_radiation IS NOT NEW.motif_radiation OR OLD.cree_le IS NOT NEW.cree_le OR OLD.modifie_le IS NOT NEW.modifie_le OR OLD.version IS NOT NEW.version)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'inscription', NEW.id, CASE WHEN NEW.statut = 'radie' AND OLD.statut <> 'radie' THEN 'radiation' ELSE 'modification' END, NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'inscription' AND c.ressource_id = NEW.id)
        FROM (SELECT 'u:' || OLD.uai AS cle UNION SELECT 'c:' || ec.code_commune FROM ecoles ec WHERE ec.uai = OLD.uai UNION SELECT 'u:' || NEW.uai AS cle UNION SELECT 'c:' || ec.code_commune FROM ecoles ec WHERE ec.uai = NEW.uai) AS k WHERE k.cle IS NOT NULL;
END;

DROP TRIGGER IF EXISTS inscriptions_changements_visibilite;
CREATE TRIGGER inscriptions_changements_visibilite AFTER UPDATE ON inscriptions
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus) AND (OLD.uai <> NEW.uai OR (OLD.statut = 'radie') <> (NEW.statut = 'radie') OR OLD.eleve_id <> NEW.eleve_id)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'eleve', NEW.eleve_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'eleve' AND c.ressource_id = NEW.eleve_id)
        FROM (SELECT 'u:' || OLD.uai AS cle UNION SELECT 'c:' || ec.code_commune FROM ecoles ec WHERE ec.uai = OLD.uai UNION SELECT 'u:' || NEW.uai AS cle UNION SELECT 'c:' || ec.code_commune FROM ecoles ec WHERE ec.uai = NEW.uai) AS k WHERE k.cle IS NOT NULL;
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        SELECT 0, 'responsable', l.responsable_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now') FROM eleves_responsables l WHERE l.eleve_id = NEW.eleve_id;
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'responsable' AND c.ressource_id = l.responsable_id)
        FROM eleves_responsables l, (SELECT 'u:' || OLD.uai AS cle UNION SELECT 'c:' || ec.code_commune FROM ecoles ec WHERE ec.uai = OLD.uai UNION SELECT 'u:' || NEW.uai AS cle UNION SELECT 'c:' || ec.code_commune FROM ecoles ec WHERE ec.uai = NEW.uai) AS k WHERE l.eleve_id = NEW.eleve_id AND k.cle IS NOT NULL;
END;

DROP TRIGGER IF EXISTS inscriptions_changements_suppression;
CREATE TRIGGER inscriptions_changements_suppression AFTER DELETE ON inscriptions
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'inscription', OLD.id, 'suppression', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'inscription' AND c.ressource_id = OLD.id)
        FROM (SELECT 'u:' || OLD.uai AS cle UNION SELECT 'c:' || ec.code_commune FROM ecoles ec WHERE ec.uai = OLD.uai) AS k WHERE k.cle IS NOT NULL;
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'eleve', OLD.eleve_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'eleve' AND c.ressource_id = OLD.eleve_id)
        FROM (SELECT 'u:' || OLD.uai AS cle UNION SELECT 'c:' || ec.code_commune FROM ecoles ec WHERE ec.uai = OLD.uai) AS k WHERE k.cle IS NOT NULL;
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        SELECT 0, 'responsable', l.responsable_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now') FROM eleves_responsables l WHERE l.eleve_id = OLD.eleve_id;
    INSERT OR IGNORE INTO changements_cles (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'responsable' AND c.ressource_id = l.responsable_id)
        FROM eleves_responsables l, (SELECT 'u:' || OLD.uai AS cle UNION SELECT 'c:' || ec.code_commune FROM ecoles ec WHERE ec.uai = OLD.uai) AS k WHERE l.eleve_id = OLD.eleve_id AND k.cle IS NOT NULL;
END;
