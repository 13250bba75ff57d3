-- The chunk's feed, written once from the staging tables: the events and perimeter keys the
-- triggers would have written statement by statement (crates/store/sql/postgres/changements_*.sql), merged into
-- the transaction's other events by `changements_noter`; then the triggers are back on.
--
-- - inscriptions written: created or modified, under their school's keys (a batch never
--   radiates nor moves one: no pupil becomes visible or invisible through an update);
-- - every inscription (radiated ones included) of a pupil rewritten with a new summary
--   (`resume_modifie`: names, sex, birth date; the INE is the match key), under its school's
--   keys: each embeds that summary (changements_eleves.sql);
-- - pupils written (`ecriture`), under their residence before and after and the schools of
--   their active inscriptions; pupils only given an inscription, under its school's keys;
-- - guardians: the new ones of a written pupil, like it but for its former residence; the
--   former ones (deleted when no pupil is left them), under the pupil's residences and the
--   schools it had before the chunk; those of a pupil only given an inscription, under its
--   school's keys.
--
-- Written only when the triggers did stand aside (`changements_differes()`), so that nothing
-- is noted twice; tests/suite/lots.rs compares the two ways on the same chunks.
-- Part of the set-based chunk: crates/store/src/imports/postgres.rs, `appliquer`.
WITH ecrits AS (
    SELECT eleve_id, ecriture, ancienne_commune, adresse_commune
      FROM etape_eleves WHERE NOT rejete AND ecriture IS NOT NULL),
creees AS (SELECT eleve_id, uai FROM etape_inscriptions_ecrites WHERE operation = 'creation'),
resumes AS (
    SELECT i.id, i.uai FROM etape_eleves s
    CROSS JOIN LATERAL (SELECT i.id, i.uai FROM inscriptions i WHERE i.eleve_id = s.eleve_id OFFSET 0) AS i
     WHERE NOT s.rejete AND s.ecriture = 'modifie' AND s.resume_modifie),
avant AS (
    SELECT x.eleve_id, i.uai FROM ecrits x
    CROSS JOIN LATERAL (SELECT i.id, i.uai FROM inscriptions i
                         WHERE i.eleve_id = x.eleve_id AND i.statut <> 'radie' OFFSET 0) AS i
     WHERE NOT EXISTS (SELECT 1 FROM etape_inscriptions_ecrites w WHERE w.id = i.id AND w.operation = 'creation')),
liens AS (
    SELECT x.eleve_id, l.responsable_id FROM ecrits x
    CROSS JOIN LATERAL (SELECT l.responsable_id FROM eleves_responsables l
                         WHERE l.eleve_id = x.eleve_id OFFSET 0) AS l),
cles_avant AS (
    SELECT a.eleve_id, k.cle FROM avant a JOIN ecoles e ON e.uai = a.uai
    CROSS JOIN LATERAL (VALUES ('c:' || e.code_commune), ('u:' || e.uai)) AS k(cle)),
cles_creees AS (
    SELECT a.eleve_id, k.cle FROM creees a JOIN ecoles e ON e.uai = a.uai
    CROSS JOIN LATERAL (VALUES ('c:' || e.code_commune), ('u:' || e.uai)) AS k(cle)),
residences AS (
    SELECT eleve_id, 'c:' || adresse_commune AS cle, TRUE AS actuelle FROM ecrits WHERE adresse_commune IS NOT NULL
    UNION ALL
    SELECT eleve_id, 'c:' || ancienne_commune, FALSE FROM ecrits WHERE ancienne_commune IS NOT NULL),
notes AS (
    INSERT INTO etape_notes
    SELECT 'inscription', id, operation FROM etape_inscriptions_ecrites
    UNION ALL
    SELECT 'inscription', id, 'modification' FROM resumes
    UNION ALL
    SELECT 'eleve', eleve_id, CASE ecriture WHEN 'cree' THEN 'creation' ELSE 'modification' END FROM ecrits
    UNION ALL
    SELECT DISTINCT 'eleve', eleve_id, 'modification' FROM creees
    UNION ALL
    SELECT 'responsable', responsable_id, 'creation' FROM liens
    UNION ALL
    SELECT 'responsable', a.responsable_id, CASE WHEN g.existe THEN 'modification' ELSE 'suppression' END
      FROM etape_anciens_responsables a
      CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM responsables g WHERE g.id = a.responsable_id OFFSET 0)) AS g(existe)
    UNION ALL
    SELECT 'responsable', l.responsable_id, 'modification'
      FROM (SELECT DISTINCT eleve_id FROM creees) c JOIN eleves_responsables l ON l.eleve_id = c.eleve_id)
INSERT INTO etape_notes_cles
SELECT 'inscription', w.id, k.cle FROM etape_inscriptions_ecrites w JOIN ecoles e ON e.uai = w.uai
CROSS JOIN LATERAL (VALUES ('c:' || e.code_commune), ('u:' || e.uai)) AS k(cle)
UNION ALL
SELECT 'inscription', r.id, k.cle FROM resumes r JOIN ecoles e ON e.uai = r.uai
CROSS JOIN LATERAL (VALUES ('c:' || e.code_commune), ('u:' || e.uai)) AS k(cle)
UNION ALL
SELECT 'eleve', eleve_id, cle FROM residences
UNION ALL
SELECT 'eleve', eleve_id, cle FROM cles_avant
UNION ALL
SELECT 'eleve', eleve_id, cle FROM cles_creees
UNION ALL
SELECT 'responsable', l.responsable_id, k.cle
  FROM liens l
  JOIN (SELECT eleve_id, cle FROM residences WHERE actuelle UNION ALL SELECT eleve_id, cle FROM cles_avant) k
    ON k.eleve_id = l.eleve_id
UNION ALL
SELECT 'responsable', a.responsable_id, k.cle
  FROM etape_anciens_responsables a
  JOIN (SELECT eleve_id, cle FROM residences UNION ALL SELECT eleve_id, cle FROM cles_avant) k
    ON k.eleve_id = a.eleve_id
UNION ALL
SELECT 'responsable', l.responsable_id, k.cle
  FROM cles_creees k JOIN eleves_responsables l ON l.eleve_id = k.eleve_id;
SELECT changements_noter(r.ressource, n.ids, n.ops, NULL, k.ids, k.cles)
  FROM (VALUES ('inscription'), ('eleve'), ('responsable')) AS r(ressource)
  CROSS JOIN LATERAL (SELECT array_agg(id) AS ids, array_agg(operation) AS ops
                        FROM etape_notes WHERE ressource = r.ressource) AS n
  CROSS JOIN LATERAL (SELECT array_agg(id) AS ids, array_agg(cle) AS cles
                        FROM etape_notes_cles WHERE ressource = r.ressource) AS k
 WHERE changements_differes();
SELECT set_config('onde.changements_differes', 'off', true);
