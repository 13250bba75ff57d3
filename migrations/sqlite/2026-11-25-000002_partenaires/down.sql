DROP TRIGGER IF EXISTS audit_pas_de_modification;
DROP TABLE audit;
DROP TABLE cles_signature;
DROP TABLE clients;
DROP TABLE mandats;
DROP TABLE partenaires_uais;
DROP TABLE partenaires_communes;
DROP TABLE partenaires;
