DROP TABLE inscriptions;
DROP TABLE eleves_responsables;
DROP TABLE responsables;
DROP TABLE eleves;
DROP TABLE ecoles;
DROP TABLE communes;
