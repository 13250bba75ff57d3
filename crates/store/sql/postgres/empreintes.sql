-- Replaceable schema (PostgreSQL): pupils' content fingerprints (`eleves.empreinte`,
-- crates/store/src/empreinte.rs). Re-applied after the migrations when the base differs
-- (crates/store/src/definitions.rs): edit this file, not a migration, to change it.
--
-- Every write of the application stores a pupil's record with its fingerprint. A write that
-- changes the record without it (manual SQL, a forgotten path) makes the fingerprint unknown
-- (NULL), so the next push compares that pupil field by field instead of calling it unchanged.
-- The conditions are the triggers' WHEN clauses (written as the catalogue gives them back, column
-- by column): the application's own writes never call the functions.

-- A pupil's columns changed, its fingerprint left as it was.
CREATE OR REPLACE FUNCTION empreinte_perimee() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.empreinte := NULL;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS eleves_empreinte ON eleves;
CREATE TRIGGER eleves_empreinte BEFORE UPDATE ON eleves
    FOR EACH ROW WHEN (NEW.empreinte IS NOT NULL AND NEW.empreinte = OLD.empreinte AND (
        NEW.nom IS DISTINCT FROM OLD.nom OR
        NEW.prenom1 IS DISTINCT FROM OLD.prenom1 OR
        NEW.prenom2 IS DISTINCT FROM OLD.prenom2 OR
        NEW.prenom3 IS DISTINCT FROM OLD.prenom3 OR
        NEW.sexe IS DISTINCT FROM OLD.sexe OR
        NEW.date_naissance IS DISTINCT FROM OLD.date_naissance OR
        NEW.lieu_naissance IS DISTINCT FROM OLD.lieu_naissance OR
        NEW.adresse_voie IS DISTINCT FROM OLD.adresse_voie OR
        NEW.adresse_code_postal IS DISTINCT FROM OLD.adresse_code_postal OR
        NEW.adresse_commune IS DISTINCT FROM OLD.adresse_commune))
    EXECUTE FUNCTION empreinte_perimee();

-- A guardian or a link edited in place (the application only ever replaces a pupil's guardians
-- and links with its record): the fingerprints of the pupils concerned become unknown.
CREATE OR REPLACE FUNCTION empreinte_perimee_par_responsable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'responsables' THEN
        UPDATE eleves SET empreinte = NULL
         WHERE empreinte IS NOT NULL
           AND id IN (SELECT l.eleve_id FROM eleves_responsables l WHERE l.responsable_id = NEW.id);
    ELSE
        UPDATE eleves SET empreinte = NULL
         WHERE empreinte IS NOT NULL AND id IN (OLD.eleve_id, NEW.eleve_id);
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS responsables_empreinte ON responsables;
CREATE TRIGGER responsables_empreinte AFTER UPDATE ON responsables
    FOR EACH ROW WHEN (
        NEW.nom IS DISTINCT FROM OLD.nom OR
        NEW.prenom IS DISTINCT FROM OLD.prenom OR
        NEW.telephone IS DISTINCT FROM OLD.telephone OR
        NEW.courriel IS DISTINCT FROM OLD.courriel OR
        NEW.adresse IS DISTINCT FROM OLD.adresse)
    EXECUTE FUNCTION empreinte_perimee_par_responsable();
DROP TRIGGER IF EXISTS liens_empreinte ON eleves_responsables;
CREATE TRIGGER liens_empreinte AFTER UPDATE ON eleves_responsables
    FOR EACH ROW WHEN (
        NEW.eleve_id IS DISTINCT FROM OLD.eleve_id OR
        NEW.responsable_id IS DISTINCT FROM OLD.responsable_id OR
        NEW.lien IS DISTINCT FROM OLD.lien OR
        NEW.autorite_parentale IS DISTINCT FROM OLD.autorite_parentale OR
        NEW.rang IS DISTINCT FROM OLD.rang)
    EXECUTE FUNCTION empreinte_perimee_par_responsable();
