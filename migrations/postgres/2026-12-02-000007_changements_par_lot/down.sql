DROP TRIGGER eleves_changements_insertion ON eleves;
CREATE TRIGGER eleves_changements_insertion AFTER INSERT ON eleves
    REFERENCING NEW TABLE AS nouveau FOR EACH STATEMENT EXECUTE FUNCTION changements_eleves();
DROP TRIGGER eleves_changements_modification ON eleves;
CREATE TRIGGER eleves_changements_modification AFTER UPDATE ON eleves
    REFERENCING OLD TABLE AS ancien NEW TABLE AS nouveau FOR EACH STATEMENT EXECUTE FUNCTION changements_eleves();
DROP TRIGGER eleves_changements_suppression ON eleves;
CREATE TRIGGER eleves_changements_suppression AFTER DELETE ON eleves
    REFERENCING OLD TABLE AS ancien FOR EACH STATEMENT EXECUTE FUNCTION changements_eleves();
DROP TRIGGER inscriptions_changements_insertion ON inscriptions;
CREATE TRIGGER inscriptions_changements_insertion AFTER INSERT ON inscriptions
    REFERENCING NEW TABLE AS nouveau FOR EACH STATEMENT EXECUTE FUNCTION changements_inscriptions();
DROP TRIGGER inscriptions_changements_modification ON inscriptions;
CREATE TRIGGER inscriptions_changements_modification AFTER UPDATE ON inscriptions
    REFERENCING OLD TABLE AS ancien NEW TABLE AS nouveau FOR EACH STATEMENT EXECUTE FUNCTION changements_inscriptions();
DROP TRIGGER inscriptions_changements_suppression ON inscriptions;
CREATE TRIGGER inscriptions_changements_suppression AFTER DELETE ON inscriptions
    REFERENCING OLD TABLE AS ancien FOR EACH STATEMENT EXECUTE FUNCTION changements_inscriptions();
DROP TRIGGER responsables_changements_insertion ON responsables;
CREATE TRIGGER responsables_changements_insertion AFTER INSERT ON responsables
    REFERENCING NEW TABLE AS nouveau FOR EACH STATEMENT EXECUTE FUNCTION changements_responsables();
DROP TRIGGER responsables_changements_modification ON responsables;
CREATE TRIGGER responsables_changements_modification AFTER UPDATE ON responsables
    REFERENCING OLD TABLE AS ancien NEW TABLE AS nouveau FOR EACH STATEMENT EXECUTE FUNCTION changements_responsables();
DROP TRIGGER responsables_changements_suppression ON responsables;
CREATE TRIGGER responsables_changements_suppression AFTER DELETE ON responsables
    REFERENCING OLD TABLE AS ancien FOR EACH STATEMENT EXECUTE FUNCTION changements_responsables();
DROP TRIGGER liens_changements_insertion ON eleves_responsables;
CREATE TRIGGER liens_changements_insertion AFTER INSERT ON eleves_responsables
    REFERENCING NEW TABLE AS nouveau FOR EACH STATEMENT EXECUTE FUNCTION changements_liens();
DROP TRIGGER liens_changements_modification ON eleves_responsables;
CREATE TRIGGER liens_changements_modification AFTER UPDATE ON eleves_responsables
    REFERENCING OLD TABLE AS ancien NEW TABLE AS nouveau FOR EACH STATEMENT EXECUTE FUNCTION changements_liens();
DROP TRIGGER liens_changements_suppression ON eleves_responsables;
CREATE TRIGGER liens_changements_suppression AFTER DELETE ON eleves_responsables
    REFERENCING OLD TABLE AS ancien FOR EACH STATEMENT EXECUTE FUNCTION changements_liens();
DROP FUNCTION changements_differes();
