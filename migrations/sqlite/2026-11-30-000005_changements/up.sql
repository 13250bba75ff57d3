-- Change feed (GET /v1/changements): one row per change of a partner-visible resource, written
-- by triggers inside the writing transaction (see the PostgreSQL migration for the design).
--
-- Order, and no skipped change: SQLite has one writer at a time, which holds the write lock
-- from its first write to its commit, so the AUTOINCREMENT seq of committed rows grows in
-- commit order and a reader's snapshot always holds a prefix of it. xid stays 0 here.
CREATE TABLE changements (
    xid BIGINT NOT NULL DEFAULT 0,
    -- A rowid alias: SQLite's 64-bit auto-increment key.
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ressource TEXT NOT NULL CHECK (ressource IN ('ecole', 'eleve', 'inscription', 'responsable')),
    ressource_id TEXT NOT NULL,
    operation TEXT NOT NULL CHECK (operation IN ('creation', 'modification', 'changement_cle', 'radiation', 'suppression')),
    ancienne_cle TEXT,
    horodatage TIMESTAMP NOT NULL
);
-- Not unique here (no transaction id to merge on): finds an event's seq within a trigger.
CREATE INDEX changements_par_transaction ON changements (xid, ressource, ressource_id);

CREATE TABLE changements_portee (
    cle TEXT NOT NULL,
    xid BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (cle, xid, seq)
) WITHOUT ROWID;

-- While a row exists here the triggers record nothing: only the seed of an empty base writes
-- one, inside its own transaction, deleted before it commits (see the PostgreSQL migration).
CREATE TABLE changements_suspendus (
    raison TEXT NOT NULL PRIMARY KEY
);

-- Schools: a corrected UAI is a key change.
CREATE TRIGGER ecoles_changements_insertion AFTER INSERT ON ecoles
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'ecole', NEW.uai, 'creation', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'ecole' AND c.ressource_id = NEW.uai)
        FROM (SELECT 'c:' || NEW.code_commune AS cle UNION SELECT 'u:' || NEW.uai) AS k WHERE k.cle IS NOT NULL;
END;

CREATE TRIGGER ecoles_changements_modification AFTER UPDATE ON ecoles
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus) AND (OLD.uai IS NOT NEW.uai OR OLD.nom IS NOT NEW.nom OR OLD.type_ecole IS NOT NEW.type_ecole OR OLD.secteur IS NOT NEW.secteur OR OLD.code_commune IS NOT NEW.code_commune OR OLD.circonscription IS NOT NEW.circonscription OR OLD.adresse IS NOT NEW.adresse OR OLD.rpi IS NOT NEW.rpi OR OLD.date_ouverture IS NOT NEW.date_ouverture OR OLD.date_fermeture IS NOT NEW.date_fermeture)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'ecole', NEW.uai, CASE WHEN OLD.uai <> NEW.uai THEN 'changement_cle' ELSE 'modification' END, CASE WHEN OLD.uai <> NEW.uai THEN OLD.uai END, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'ecole' AND c.ressource_id = NEW.uai)
        FROM (SELECT 'c:' || OLD.code_commune AS cle UNION SELECT 'u:' || OLD.uai UNION SELECT 'c:' || NEW.code_commune UNION SELECT 'u:' || NEW.uai) AS k WHERE k.cle IS NOT NULL;
END;

CREATE TRIGGER ecoles_changements_suppression AFTER DELETE ON ecoles
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'ecole', OLD.uai, 'suppression', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'ecole' AND c.ressource_id = OLD.uai)
        FROM (SELECT 'c:' || OLD.code_commune AS cle UNION SELECT 'u:' || OLD.uai) AS k WHERE k.cle IS NOT NULL;
END;

-- Pupils: a change of INE is a key change; a new residence moves the pupil and its guardians.
CREATE TRIGGER eleves_changements_insertion AFTER INSERT ON eleves
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'eleve', NEW.id, 'creation', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'eleve' AND c.ressource_id = NEW.id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves e WHERE e.id = NEW.id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai WHERE i.eleve_id = NEW.id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM inscriptions i WHERE i.eleve_id = NEW.id AND i.statut <> 'radie') AS k WHERE k.cle IS NOT NULL;
END;

CREATE TRIGGER eleves_changements_modification AFTER UPDATE ON eleves
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus) AND (OLD.id IS NOT NEW.id OR OLD.ine IS NOT NEW.ine OR OLD.nom IS NOT NEW.nom OR OLD.prenom1 IS NOT NEW.prenom1 OR OLD.prenom2 IS NOT NEW.prenom2 OR OLD.prenom3 IS NOT NEW.prenom3 OR OLD.sexe IS NOT NEW.sexe OR OLD.date_naissance IS NOT NEW.date_naissance OR OLD.lieu_naissance IS NOT NEW.lieu_naissance OR OLD.adresse_voie IS NOT NEW.adresse_voie OR OLD.adresse_code_postal IS NOT NEW.adresse_code_postal OR OLD.adresse_commune IS NOT NEW.adresse_commune OR OLD.cree_le IS NOT NEW.cree_le OR OLD.modifie_le IS NOT NEW.modifie_le OR OLD.version IS NOT NEW.version OR OLD.cle_doublon IS NOT NEW.cle_doublon)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'eleve', NEW.id, CASE WHEN OLD.ine IS NOT NULL AND OLD.ine IS NOT NEW.ine THEN 'changement_cle' ELSE 'modification' END, CASE WHEN OLD.ine IS NOT NULL AND OLD.ine IS NOT NEW.ine THEN OLD.ine END, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'eleve' AND c.ressource_id = NEW.id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves e WHERE e.id = NEW.id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai WHERE i.eleve_id = NEW.id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM inscriptions i WHERE i.eleve_id = NEW.id AND i.statut <> 'radie' UNION SELECT 'c:' || OLD.adresse_commune) AS k WHERE k.cle IS NOT NULL;
END;

CREATE TRIGGER eleves_changements_residence AFTER UPDATE ON eleves
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus) AND (OLD.adresse_commune IS NOT NEW.adresse_commune)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'eleve', NEW.id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'eleve' AND c.ressource_id = NEW.id)
        FROM (SELECT 'c:' || OLD.adresse_commune AS cle UNION SELECT 'c:' || NEW.adresse_commune) AS k WHERE k.cle IS NOT NULL;
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        SELECT 0, 'responsable', l.responsable_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now') FROM eleves_responsables l WHERE l.eleve_id = NEW.id;
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'responsable' AND c.ressource_id = l.responsable_id)
        FROM eleves_responsables l, (SELECT 'c:' || OLD.adresse_commune AS cle UNION SELECT 'c:' || NEW.adresse_commune) AS k WHERE l.eleve_id = NEW.id AND k.cle IS NOT NULL;
END;

CREATE TRIGGER eleves_changements_suppression AFTER DELETE ON eleves
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'eleve', OLD.id, 'suppression', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'eleve' AND c.ressource_id = OLD.id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves e WHERE e.id = OLD.id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai WHERE i.eleve_id = OLD.id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM inscriptions i WHERE i.eleve_id = OLD.id AND i.statut <> 'radie' UNION SELECT 'c:' || OLD.adresse_commune) AS k WHERE k.cle IS NOT NULL;
END;

-- Inscriptions: keyed by their school before and after; the pupil and its guardians too when
-- the change can move the pupil in or out of a perimeter.
CREATE TRIGGER inscriptions_changements_insertion AFTER INSERT ON inscriptions
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'inscription', NEW.id, 'creation', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'inscription' AND c.ressource_id = NEW.id)
        FROM (SELECT 'u:' || NEW.uai AS cle UNION SELECT 'c:' || ec.code_commune FROM ecoles ec WHERE ec.uai = NEW.uai) AS k WHERE k.cle IS NOT NULL;
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'eleve', NEW.eleve_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'eleve' AND c.ressource_id = NEW.eleve_id)
        FROM (SELECT 'u:' || NEW.uai AS cle UNION SELECT 'c:' || ec.code_commune FROM ecoles ec WHERE ec.uai = NEW.uai) AS k WHERE k.cle IS NOT NULL;
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        SELECT 0, 'responsable', l.responsable_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now') FROM eleves_responsables l WHERE l.eleve_id = NEW.eleve_id;
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'responsable' AND c.ressource_id = l.responsable_id)
        FROM eleves_responsables l, (SELECT 'u:' || NEW.uai AS cle UNION SELECT 'c:' || ec.code_commune FROM ecoles ec WHERE ec.uai = NEW.uai) AS k WHERE l.eleve_id = NEW.eleve_id AND k.cle IS NOT NULL;
END;

CREATE TRIGGER inscriptions_changements_modification AFTER UPDATE ON inscriptions
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus) AND (OLD.id IS NOT NEW.id OR OLD.eleve_id IS NOT NEW.eleve_id OR OLD.uai IS NOT NEW.uai OR OLD.annee_scolaire IS NOT NEW.annee_scolaire OR OLD.niveau IS NOT NEW.niveau OR OLD.classe IS NOT NEW.classe OR OLD.dispositif IS NOT NEW.dispositif OR OLD.statut IS NOT NEW.statut OR OLD.admission_provisoire IS NOT NEW.admission_provisoire OR OLD.date_inscription IS NOT NEW.date_inscription OR OLD.date_admission IS NOT NEW.date_admission OR OLD.date_radiation IS NOT NEW.date_radiation OR OLD.motif_radiation IS NOT NEW.motif_radiation OR OLD.cree_le IS NOT NEW.cree_le OR OLD.modifie_le IS NOT NEW.modifie_le OR OLD.version IS NOT NEW.version)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'inscription', NEW.id, CASE WHEN NEW.statut = 'radie' AND OLD.statut <> 'radie' THEN 'radiation' ELSE 'modification' END, NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'inscription' AND c.ressource_id = NEW.id)
        FROM (SELECT 'u:' || OLD.uai AS cle UNION SELECT 'c:' || ec.code_commune FROM ecoles ec WHERE ec.uai = OLD.uai UNION SELECT 'u:' || NEW.uai AS cle UNION SELECT 'c:' || ec.code_commune FROM ecoles ec WHERE ec.uai = NEW.uai) AS k WHERE k.cle IS NOT NULL;
END;

CREATE TRIGGER inscriptions_changements_visibilite AFTER UPDATE ON inscriptions
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus) AND (OLD.uai <> NEW.uai OR (OLD.statut = 'radie') <> (NEW.statut = 'radie') OR OLD.eleve_id <> NEW.eleve_id)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'eleve', NEW.eleve_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'eleve' AND c.ressource_id = NEW.eleve_id)
        FROM (SELECT 'u:' || OLD.uai AS cle UNION SELECT 'c:' || ec.code_commune FROM ecoles ec WHERE ec.uai = OLD.uai UNION SELECT 'u:' || NEW.uai AS cle UNION SELECT 'c:' || ec.code_commune FROM ecoles ec WHERE ec.uai = NEW.uai) AS k WHERE k.cle IS NOT NULL;
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        SELECT 0, 'responsable', l.responsable_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now') FROM eleves_responsables l WHERE l.eleve_id = NEW.eleve_id;
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'responsable' AND c.ressource_id = l.responsable_id)
        FROM eleves_responsables l, (SELECT 'u:' || OLD.uai AS cle UNION SELECT 'c:' || ec.code_commune FROM ecoles ec WHERE ec.uai = OLD.uai UNION SELECT 'u:' || NEW.uai AS cle UNION SELECT 'c:' || ec.code_commune FROM ecoles ec WHERE ec.uai = NEW.uai) AS k WHERE l.eleve_id = NEW.eleve_id AND k.cle IS NOT NULL;
END;

CREATE TRIGGER inscriptions_changements_suppression AFTER DELETE ON inscriptions
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'inscription', OLD.id, 'suppression', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'inscription' AND c.ressource_id = OLD.id)
        FROM (SELECT 'u:' || OLD.uai AS cle UNION SELECT 'c:' || ec.code_commune FROM ecoles ec WHERE ec.uai = OLD.uai) AS k WHERE k.cle IS NOT NULL;
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'eleve', OLD.eleve_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'eleve' AND c.ressource_id = OLD.eleve_id)
        FROM (SELECT 'u:' || OLD.uai AS cle UNION SELECT 'c:' || ec.code_commune FROM ecoles ec WHERE ec.uai = OLD.uai) AS k WHERE k.cle IS NOT NULL;
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        SELECT 0, 'responsable', l.responsable_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now') FROM eleves_responsables l WHERE l.eleve_id = OLD.eleve_id;
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'responsable' AND c.ressource_id = l.responsable_id)
        FROM eleves_responsables l, (SELECT 'u:' || OLD.uai AS cle UNION SELECT 'c:' || ec.code_commune FROM ecoles ec WHERE ec.uai = OLD.uai) AS k WHERE l.eleve_id = OLD.eleve_id AND k.cle IS NOT NULL;
END;

-- Guardians: seen through their pupils, keyed by their pupils' keys; the pupils, whose records
-- carry their guardians, change with them.
CREATE TRIGGER responsables_changements_insertion AFTER INSERT ON responsables
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'responsable', NEW.id, 'creation', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'responsable' AND c.ressource_id = NEW.id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves_responsables l2 JOIN eleves e ON e.id = l2.eleve_id WHERE l2.responsable_id = NEW.id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM eleves_responsables l2 JOIN inscriptions i ON i.eleve_id = l2.eleve_id JOIN ecoles ec ON ec.uai = i.uai WHERE l2.responsable_id = NEW.id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM eleves_responsables l2 JOIN inscriptions i ON i.eleve_id = l2.eleve_id WHERE l2.responsable_id = NEW.id AND i.statut <> 'radie') AS k WHERE k.cle IS NOT NULL;
END;

CREATE TRIGGER responsables_changements_modification AFTER UPDATE ON responsables
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus) AND (OLD.id IS NOT NEW.id OR OLD.nom IS NOT NEW.nom OR OLD.prenom IS NOT NEW.prenom OR OLD.telephone IS NOT NEW.telephone OR OLD.courriel IS NOT NEW.courriel OR OLD.adresse IS NOT NEW.adresse OR OLD.cree_le IS NOT NEW.cree_le OR OLD.modifie_le IS NOT NEW.modifie_le)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'responsable', NEW.id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'responsable' AND c.ressource_id = NEW.id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves_responsables l2 JOIN eleves e ON e.id = l2.eleve_id WHERE l2.responsable_id = NEW.id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM eleves_responsables l2 JOIN inscriptions i ON i.eleve_id = l2.eleve_id JOIN ecoles ec ON ec.uai = i.uai WHERE l2.responsable_id = NEW.id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM eleves_responsables l2 JOIN inscriptions i ON i.eleve_id = l2.eleve_id WHERE l2.responsable_id = NEW.id AND i.statut <> 'radie') AS k WHERE k.cle IS NOT NULL;
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        SELECT 0, 'eleve', l.eleve_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now') FROM eleves_responsables l WHERE l.responsable_id = NEW.id;
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'eleve' AND c.ressource_id = l.eleve_id)
        FROM eleves_responsables l, (SELECT 'c:' || e.adresse_commune AS cle FROM eleves_responsables l2 JOIN eleves e ON e.id = l2.eleve_id WHERE l2.responsable_id = NEW.id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM eleves_responsables l2 JOIN inscriptions i ON i.eleve_id = l2.eleve_id JOIN ecoles ec ON ec.uai = i.uai WHERE l2.responsable_id = NEW.id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM eleves_responsables l2 JOIN inscriptions i ON i.eleve_id = l2.eleve_id WHERE l2.responsable_id = NEW.id AND i.statut <> 'radie') AS k WHERE l.responsable_id = NEW.id;
END;

CREATE TRIGGER responsables_changements_suppression AFTER DELETE ON responsables
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'responsable', OLD.id, 'suppression', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'responsable' AND c.ressource_id = OLD.id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves_responsables l2 JOIN eleves e ON e.id = l2.eleve_id WHERE l2.responsable_id = OLD.id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM eleves_responsables l2 JOIN inscriptions i ON i.eleve_id = l2.eleve_id JOIN ecoles ec ON ec.uai = i.uai WHERE l2.responsable_id = OLD.id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM eleves_responsables l2 JOIN inscriptions i ON i.eleve_id = l2.eleve_id WHERE l2.responsable_id = OLD.id AND i.statut <> 'radie') AS k WHERE k.cle IS NOT NULL;
END;

-- Links: the guardian and the pupil both change, under the pupil's keys.
CREATE TRIGGER liens_changements_insertion AFTER INSERT ON eleves_responsables
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'eleve', NEW.eleve_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'eleve' AND c.ressource_id = NEW.eleve_id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves e WHERE e.id = NEW.eleve_id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai WHERE i.eleve_id = NEW.eleve_id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM inscriptions i WHERE i.eleve_id = NEW.eleve_id AND i.statut <> 'radie') AS k WHERE k.cle IS NOT NULL;
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'responsable', NEW.responsable_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'responsable' AND c.ressource_id = NEW.responsable_id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves e WHERE e.id = NEW.eleve_id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai WHERE i.eleve_id = NEW.eleve_id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM inscriptions i WHERE i.eleve_id = NEW.eleve_id AND i.statut <> 'radie') AS k WHERE k.cle IS NOT NULL;
END;

CREATE TRIGGER liens_changements_modification AFTER UPDATE ON eleves_responsables
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus) AND (OLD.eleve_id IS NOT NEW.eleve_id OR OLD.responsable_id IS NOT NEW.responsable_id OR OLD.lien IS NOT NEW.lien OR OLD.autorite_parentale IS NOT NEW.autorite_parentale OR OLD.rang IS NOT NEW.rang)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'eleve', OLD.eleve_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'eleve' AND c.ressource_id = OLD.eleve_id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves e WHERE e.id = OLD.eleve_id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai WHERE i.eleve_id = OLD.eleve_id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM inscriptions i WHERE i.eleve_id = OLD.eleve_id AND i.statut <> 'radie') AS k WHERE k.cle IS NOT NULL;
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'responsable', OLD.responsable_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'responsable' AND c.ressource_id = OLD.responsable_id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves e WHERE e.id = OLD.eleve_id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai WHERE i.eleve_id = OLD.eleve_id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM inscriptions i WHERE i.eleve_id = OLD.eleve_id AND i.statut <> 'radie') AS k WHERE k.cle IS NOT NULL;
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'eleve', NEW.eleve_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'eleve' AND c.ressource_id = NEW.eleve_id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves e WHERE e.id = NEW.eleve_id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai WHERE i.eleve_id = NEW.eleve_id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM inscriptions i WHERE i.eleve_id = NEW.eleve_id AND i.statut <> 'radie') AS k WHERE k.cle IS NOT NULL;
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'responsable', NEW.responsable_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'responsable' AND c.ressource_id = NEW.responsable_id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves e WHERE e.id = NEW.eleve_id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai WHERE i.eleve_id = NEW.eleve_id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM inscriptions i WHERE i.eleve_id = NEW.eleve_id AND i.statut <> 'radie') AS k WHERE k.cle IS NOT NULL;
END;

CREATE TRIGGER liens_changements_suppression AFTER DELETE ON eleves_responsables
    WHEN NOT EXISTS (SELECT 1 FROM changements_suspendus)
BEGIN
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'eleve', OLD.eleve_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'eleve' AND c.ressource_id = OLD.eleve_id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves e WHERE e.id = OLD.eleve_id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai WHERE i.eleve_id = OLD.eleve_id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM inscriptions i WHERE i.eleve_id = OLD.eleve_id AND i.statut <> 'radie') AS k WHERE k.cle IS NOT NULL;
    INSERT INTO changements (xid, ressource, ressource_id, operation, ancienne_cle, horodatage)
        VALUES (0, 'responsable', OLD.responsable_id, 'modification', NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    INSERT OR IGNORE INTO changements_portee (cle, xid, seq)
        SELECT k.cle, 0, (SELECT max(c.seq) FROM changements c WHERE c.xid = 0 AND c.ressource = 'responsable' AND c.ressource_id = OLD.responsable_id)
        FROM (SELECT 'c:' || e.adresse_commune AS cle FROM eleves e WHERE e.id = OLD.eleve_id AND e.adresse_commune IS NOT NULL UNION SELECT 'c:' || ec.code_commune FROM inscriptions i JOIN ecoles ec ON ec.uai = i.uai WHERE i.eleve_id = OLD.eleve_id AND i.statut <> 'radie' UNION SELECT 'u:' || i.uai FROM inscriptions i WHERE i.eleve_id = OLD.eleve_id AND i.statut <> 'radie') AS k WHERE k.cle IS NOT NULL;
END;
