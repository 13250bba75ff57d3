-- The feed's replaceable schema (crates/store/sql/postgres/changements_*.sql) goes with its
-- tables; IF EXISTS: a base may be reverted before it was ever applied.
DROP TRIGGER IF EXISTS liens_changements_insertion ON eleves_responsables;
DROP TRIGGER IF EXISTS liens_changements_modification ON eleves_responsables;
DROP TRIGGER IF EXISTS liens_changements_suppression ON eleves_responsables;
DROP TRIGGER IF EXISTS responsables_changements_insertion ON responsables;
DROP TRIGGER IF EXISTS responsables_changements_modification ON responsables;
DROP TRIGGER IF EXISTS responsables_changements_suppression ON responsables;
DROP TRIGGER IF EXISTS inscriptions_changements_insertion ON inscriptions;
DROP TRIGGER IF EXISTS inscriptions_changements_modification ON inscriptions;
DROP TRIGGER IF EXISTS inscriptions_changements_suppression ON inscriptions;
DROP TRIGGER IF EXISTS eleves_changements_insertion ON eleves;
DROP TRIGGER IF EXISTS eleves_changements_modification ON eleves;
DROP TRIGGER IF EXISTS eleves_changements_suppression ON eleves;
DROP TRIGGER IF EXISTS ecoles_changements ON ecoles;
DROP FUNCTION IF EXISTS changements_liens();
DROP FUNCTION IF EXISTS changements_responsables();
DROP FUNCTION IF EXISTS changements_inscriptions();
DROP FUNCTION IF EXISTS changements_eleves();
DROP FUNCTION IF EXISTS changements_ecoles();
DROP FUNCTION IF EXISTS changements_noter_visibilite(TEXT[], TEXT[]);
DROP FUNCTION IF EXISTS changements_cles_eleves(TEXT[]);
DROP FUNCTION IF EXISTS changements_cles_ecoles(TEXT[]);
DROP FUNCTION IF EXISTS changements_noter(TEXT, TEXT[], TEXT[], TEXT[], TEXT[], TEXT[]);
DROP FUNCTION IF EXISTS changements_rang(TEXT);
DROP FUNCTION IF EXISTS changements_differes();
DROP TABLE changements_suspendus;
DROP TABLE changements_portee;
DROP TABLE changements;
