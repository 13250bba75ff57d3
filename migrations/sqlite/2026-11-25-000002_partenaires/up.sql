-- Partners, their OAuth clients, the token signing keys and the audit trail.

CREATE TABLE partenaires (
    id TEXT NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    nom TEXT NOT NULL CHECK (length(nom) BETWEEN 1 AND 200),
    type_partenaire TEXT NOT NULL CHECK (type_partenaire IN ('mairie', 'ecole_privee', 'editeur', 'admin')),
    -- Space-separated OAuth scopes, as in token requests.
    scopes TEXT NOT NULL,
    actif BOOLEAN NOT NULL,
    cree_le TIMESTAMP NOT NULL,
    modifie_le TIMESTAMP NOT NULL,
    -- Bumped on every change: requests re-resolve rights when it moves.
    version BIGINT NOT NULL
);

CREATE TABLE partenaires_communes (
    partenaire_id TEXT NOT NULL REFERENCES partenaires (id) ON DELETE CASCADE,
    code_insee TEXT NOT NULL,
    PRIMARY KEY (partenaire_id, code_insee)
);

CREATE TABLE partenaires_uais (
    partenaire_id TEXT NOT NULL REFERENCES partenaires (id) ON DELETE CASCADE,
    uai TEXT NOT NULL,
    PRIMARY KEY (partenaire_id, uai)
);

CREATE TABLE mandats (
    partenaire_id TEXT NOT NULL REFERENCES partenaires (id) ON DELETE CASCADE,
    cible_type TEXT NOT NULL CHECK (cible_type IN ('commune', 'ecole')),
    cible_code TEXT NOT NULL,
    libelle TEXT,
    PRIMARY KEY (partenaire_id, cible_type, cible_code)
);

CREATE TABLE clients (
    client_id TEXT NOT NULL PRIMARY KEY,
    partenaire_id TEXT NOT NULL REFERENCES partenaires (id) ON DELETE CASCADE,
    -- argon2 PHC strings; the secret itself is shown once and never stored.
    secret_hash TEXT NOT NULL,
    -- The previous secret keeps working until ancien_secret_expire_le (rotation overlap).
    ancien_secret_hash TEXT,
    ancien_secret_expire_le TIMESTAMP,
    cree_le TIMESTAMP NOT NULL,
    revoque_le TIMESTAMP,
    CHECK ((ancien_secret_hash IS NULL) = (ancien_secret_expire_le IS NULL))
);
CREATE INDEX clients_par_partenaire ON clients (partenaire_id);

CREATE TABLE cles_signature (
    kid TEXT NOT NULL PRIMARY KEY,
    algorithme TEXT NOT NULL CHECK (algorithme = 'EdDSA'),
    -- PKCS#8 DER, base64.
    cle_privee TEXT NOT NULL,
    -- Raw Ed25519 public key, base64url (the JWK "x").
    cle_publique TEXT NOT NULL,
    cree_le TIMESTAMP NOT NULL,
    -- Set when a newer key takes over signing; the key still verifies the tokens it signed.
    retiree_le TIMESTAMP
);

-- Append-only trail of every read or write of personal data.
CREATE TABLE audit (
    -- A rowid alias: SQLite's 64-bit auto-increment key.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    horodatage TIMESTAMP NOT NULL,
    partenaire_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    pour_le_compte_de TEXT,
    operation TEXT NOT NULL,
    scope TEXT NOT NULL,
    -- Space-separated internal ids of the pupils whose data was read or written.
    eleves TEXT NOT NULL,
    nombre INTEGER NOT NULL CHECK (nombre >= 0),
    id_requete TEXT NOT NULL
);
CREATE INDEX audit_par_partenaire ON audit (partenaire_id, horodatage);
CREATE INDEX audit_par_date ON audit (horodatage);

-- The trigger keeping the trail append-only is in the replaceable schema:
-- crates/store/sql/sqlite/audit.sql, applied after the migrations.
