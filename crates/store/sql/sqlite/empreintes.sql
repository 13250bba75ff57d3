-- Replaceable schema (SQLite): pupils' content fingerprints (`eleves.empreinte`,
-- crates/store/src/empreinte.rs). Re-applied after the migrations when the base differs
-- (crates/store/src/definitions.rs), in one transaction: edit this file, not a migration.
--
-- Every write of the application stores a pupil's record with its fingerprint. A write that
-- changes the record without it (manual SQL, a forgotten path) makes the fingerprint unknown
-- (NULL), so the next push compares that pupil field by field instead of calling it unchanged.
-- The conditions are the triggers' WHEN clauses: the application's own writes never meet them.
-- Clearing the fingerprint notes nothing in the feed (its triggers name their columns).

-- A pupil's columns changed, its fingerprint left as it was.
DROP TRIGGER IF EXISTS eleves_empreinte;
CREATE TRIGGER eleves_empreinte AFTER UPDATE ON eleves
    WHEN NEW.empreinte IS NOT NULL AND NEW.empreinte = OLD.empreinte
     AND (OLD.nom IS NOT NEW.nom OR OLD.prenom1 IS NOT NEW.prenom1 OR OLD.prenom2 IS NOT NEW.prenom2
          OR OLD.prenom3 IS NOT NEW.prenom3 OR OLD.sexe IS NOT NEW.sexe OR OLD.date_naissance IS NOT NEW.date_naissance
          OR OLD.lieu_naissance IS NOT NEW.lieu_naissance OR OLD.adresse_voie IS NOT NEW.adresse_voie
          OR OLD.adresse_code_postal IS NOT NEW.adresse_code_postal OR OLD.adresse_commune IS NOT NEW.adresse_commune)
BEGIN
    UPDATE eleves SET empreinte = NULL WHERE id = NEW.id;
END;

-- A guardian or a link edited in place (the application only ever replaces a pupil's guardians
-- and links with its record): the fingerprints of the pupils concerned become unknown.
DROP TRIGGER IF EXISTS responsables_empreinte;
CREATE TRIGGER responsables_empreinte AFTER UPDATE ON responsables
    WHEN OLD.nom IS NOT NEW.nom OR OLD.prenom IS NOT NEW.prenom OR OLD.telephone IS NOT NEW.telephone
      OR OLD.courriel IS NOT NEW.courriel OR OLD.adresse IS NOT NEW.adresse
BEGIN
    UPDATE eleves SET empreinte = NULL
     WHERE empreinte IS NOT NULL
       AND id IN (SELECT l.eleve_id FROM eleves_responsables l WHERE l.responsable_id = NEW.id);
END;
DROP TRIGGER IF EXISTS liens_empreinte;
CREATE TRIGGER liens_empreinte AFTER UPDATE ON eleves_responsables
    WHEN OLD.eleve_id IS NOT NEW.eleve_id OR OLD.responsable_id IS NOT NEW.responsable_id OR OLD.lien IS NOT NEW.lien
      OR OLD.autorite_parentale IS NOT NEW.autorite_parentale OR OLD.rang IS NOT NEW.rang
BEGIN
    UPDATE eleves SET empreinte = NULL WHERE empreinte IS NOT NULL AND id IN (OLD.eleve_id, NEW.eleve_id);
END;
