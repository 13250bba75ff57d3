-- The feed's replaceable schema (crates/store/sql/sqlite/changements_*.sql) goes with its
-- tables; IF EXISTS: a base may be reverted before it was ever applied.
DROP TRIGGER IF EXISTS ecoles_changements_insertion;
DROP TRIGGER IF EXISTS ecoles_changements_modification;
DROP TRIGGER IF EXISTS ecoles_changements_suppression;
DROP TRIGGER IF EXISTS eleves_changements_insertion;
DROP TRIGGER IF EXISTS eleves_changements_modification;
DROP TRIGGER IF EXISTS eleves_changements_residence;
DROP TRIGGER IF EXISTS eleves_changements_suppression;
DROP TRIGGER IF EXISTS inscriptions_changements_insertion;
DROP TRIGGER IF EXISTS inscriptions_changements_modification;
DROP TRIGGER IF EXISTS inscriptions_changements_visibilite;
DROP TRIGGER IF EXISTS inscriptions_changements_suppression;
DROP TRIGGER IF EXISTS responsables_changements_insertion;
DROP TRIGGER IF EXISTS responsables_changements_modification;
DROP TRIGGER IF EXISTS responsables_changements_suppression;
DROP TRIGGER IF EXISTS liens_changements_insertion;
DROP TRIGGER IF EXISTS liens_changements_modification;
DROP TRIGGER IF EXISTS liens_changements_suppression;
DROP TRIGGER IF EXISTS eleves_changements_resume;
DROP TABLE changements_suspendus;
DROP TABLE changements_portee;
DROP TABLE changements;
