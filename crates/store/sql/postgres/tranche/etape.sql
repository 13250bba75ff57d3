-- The staging tables. They live as long as the connection and are emptied at every commit:
-- creating and dropping them per chunk would cost a dozen catalog writes each time (most of a
-- small batch's time). They are emptied on entry too, for a second call in one transaction.
-- Part of the set-based chunk: crates/store/src/imports/postgres.rs, `appliquer`.
CREATE TEMP TABLE IF NOT EXISTS etape_eleves (
    ligne BIGINT PRIMARY KEY, ine TEXT NOT NULL, nouvel_id TEXT NOT NULL, nom TEXT NOT NULL,
    prenom1 TEXT NOT NULL, prenom2 TEXT, prenom3 TEXT, sexe TEXT NOT NULL, date_naissance DATE NOT NULL,
    lieu_naissance TEXT NOT NULL, adresse_voie TEXT, adresse_code_postal TEXT, adresse_commune TEXT,
    cle_doublon TEXT NOT NULL, nb_inscriptions INTEGER NOT NULL, rang_faute INTEGER,
    -- The record's fingerprint (crates/store/src/empreinte.rs), compared with the stored one.
    empreinte BYTEA NOT NULL,
    -- 'cree' until the match finds the pupil ('inchange' or 'modifie').
    eleve_id TEXT, etat TEXT NOT NULL DEFAULT 'cree', rejete BOOLEAN NOT NULL DEFAULT FALSE,
    -- The matched pupil's version: it is written only if still at this version (and a new
    -- pupil only if no other writer created its INE meanwhile), never overwritten blindly.
    version_lue BIGINT,
    -- For the feed: the residence before the chunk, whether the pupil's own row was written
    -- ('cree', 'modifie'; `etat` also becomes 'modifie' for a new inscription alone), and
    -- whether the summary its inscriptions embed (names, sex, birth date) changes.
    ancienne_commune TEXT, ecriture TEXT, resume_modifie BOOLEAN NOT NULL DEFAULT FALSE
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS etape_responsables (
    ligne BIGINT NOT NULL, rang INTEGER NOT NULL, id TEXT NOT NULL, nom TEXT NOT NULL, prenom TEXT NOT NULL,
    lien TEXT NOT NULL, autorite_parentale BOOLEAN NOT NULL, telephone TEXT, courriel TEXT, adresse TEXT,
    PRIMARY KEY (ligne, rang)
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS etape_inscriptions (
    ligne BIGINT NOT NULL, rang INTEGER NOT NULL, pointeur TEXT NOT NULL, nouvel_id TEXT NOT NULL,
    uai TEXT NOT NULL, annee_scolaire TEXT NOT NULL, niveau TEXT NOT NULL, classe TEXT, dispositif TEXT,
    statut TEXT NOT NULL, admission_provisoire BOOLEAN NOT NULL, date_inscription DATE NOT NULL,
    date_admission DATE, date_admission_creation DATE,
    PRIMARY KEY (ligne, rang)
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS etape_anciens_responsables (
    eleve_id TEXT NOT NULL, responsable_id TEXT NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS etape_inscriptions_ecrites (
    id TEXT NOT NULL PRIMARY KEY, eleve_id TEXT NOT NULL, uai TEXT NOT NULL, operation TEXT NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS etape_notes (ressource TEXT NOT NULL, id TEXT NOT NULL, operation TEXT NOT NULL)
    ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS etape_notes_cles (ressource TEXT NOT NULL, id TEXT NOT NULL, cle TEXT NOT NULL)
    ON COMMIT DELETE ROWS;
DELETE FROM pg_temp.etape_eleves;
DELETE FROM pg_temp.etape_responsables;
DELETE FROM pg_temp.etape_inscriptions;
DELETE FROM pg_temp.etape_anciens_responsables;
DELETE FROM pg_temp.etape_inscriptions_ecrites;
DELETE FROM pg_temp.etape_notes;
DELETE FROM pg_temp.etape_notes_cles;
