-- Foundation schema: communes, schools, pupils, guardians, inscriptions.
-- Identifiers are checked by the domain parsers; the checks here are the last line of defence
-- against a bug or a manual edit, and keep both backends to the same logical schema.

CREATE TABLE communes (
    code_insee TEXT NOT NULL PRIMARY KEY CHECK (length(code_insee) = 5 AND (substr(code_insee, 1, 2) GLOB '[0-9][0-9]' OR substr(code_insee, 1, 2) IN ('2A', '2B')) AND substr(code_insee, 3) GLOB '[0-9][0-9][0-9]'),
    nom TEXT NOT NULL CHECK (length(nom) BETWEEN 1 AND 200)
);

CREATE TABLE ecoles (
    uai TEXT NOT NULL PRIMARY KEY CHECK (uai GLOB '[0-9][0-9][0-9][0-9][0-9][0-9][0-9][A-HJ-NP-Z]'),
    nom TEXT NOT NULL CHECK (length(nom) BETWEEN 1 AND 200),
    type_ecole TEXT NOT NULL CHECK (type_ecole IN ('maternelle', 'elementaire', 'primaire')),
    secteur TEXT NOT NULL CHECK (secteur IN ('public', 'prive_sous_contrat')),
    code_commune TEXT NOT NULL REFERENCES communes (code_insee),
    circonscription TEXT,
    adresse TEXT,
    rpi TEXT,
    date_ouverture DATE,
    date_fermeture DATE,
    CHECK (date_fermeture IS NULL OR date_ouverture IS NULL OR date_fermeture >= date_ouverture)
);
CREATE INDEX ecoles_par_commune ON ecoles (code_commune, uai);

CREATE TABLE eleves (
    id TEXT NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    ine TEXT UNIQUE CHECK (length(ine) = 11 AND ine NOT GLOB '*[^0-9A-Z]*'),
    nom TEXT NOT NULL CHECK (length(nom) BETWEEN 1 AND 100),
    prenom1 TEXT NOT NULL CHECK (length(prenom1) BETWEEN 1 AND 100),
    prenom2 TEXT CHECK (length(prenom2) BETWEEN 1 AND 100),
    prenom3 TEXT CHECK (length(prenom3) BETWEEN 1 AND 100),
    sexe TEXT NOT NULL CHECK (sexe IN ('M', 'F')),
    date_naissance DATE NOT NULL,
    lieu_naissance TEXT NOT NULL CHECK (length(lieu_naissance) = 5 AND (substr(lieu_naissance, 1, 2) GLOB '[0-9][0-9]' OR substr(lieu_naissance, 1, 2) IN ('2A', '2B')) AND substr(lieu_naissance, 3) GLOB '[0-9][0-9][0-9]'),
    adresse_voie TEXT,
    adresse_code_postal TEXT CHECK (adresse_code_postal GLOB '[0-9][0-9][0-9][0-9][0-9]'),
    adresse_commune TEXT,
    cree_le TIMESTAMP NOT NULL,
    modifie_le TIMESTAMP NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    -- Normalised nom|prénom|sexe|date|lieu (DOMAIN.md duplicate detection), computed by the domain.
    cle_doublon TEXT NOT NULL,
    CHECK (prenom3 IS NULL OR prenom2 IS NOT NULL),
    CHECK ((adresse_voie IS NULL) = (adresse_code_postal IS NULL)
       AND (adresse_voie IS NULL) = (adresse_commune IS NULL))
);
CREATE INDEX eleves_par_cle_doublon ON eleves (cle_doublon);
CREATE INDEX eleves_par_commune_residence ON eleves (adresse_commune) WHERE adresse_commune IS NOT NULL;

CREATE TABLE responsables (
    id TEXT NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    nom TEXT NOT NULL CHECK (length(nom) BETWEEN 1 AND 100),
    prenom TEXT NOT NULL CHECK (length(prenom) BETWEEN 1 AND 100),
    telephone TEXT,
    courriel TEXT,
    adresse TEXT,
    cree_le TIMESTAMP NOT NULL,
    modifie_le TIMESTAMP NOT NULL
);

-- Siblings share guardians: the link and parental authority belong to the pair.
CREATE TABLE eleves_responsables (
    eleve_id TEXT NOT NULL REFERENCES eleves (id) ON DELETE CASCADE,
    responsable_id TEXT NOT NULL REFERENCES responsables (id),
    lien TEXT NOT NULL CHECK (lien IN ('mere', 'pere', 'tuteur', 'autre')),
    autorite_parentale BOOLEAN NOT NULL,
    rang INTEGER NOT NULL CHECK (rang >= 1),
    PRIMARY KEY (eleve_id, responsable_id)
);
CREATE INDEX eleves_responsables_par_responsable ON eleves_responsables (responsable_id);

CREATE TABLE inscriptions (
    id TEXT NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    eleve_id TEXT NOT NULL REFERENCES eleves (id),
    uai TEXT NOT NULL REFERENCES ecoles (uai) ON UPDATE CASCADE,
    annee_scolaire TEXT NOT NULL CHECK (annee_scolaire GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9][0-9][0-9]'),
    niveau TEXT NOT NULL CHECK (niveau IN ('TPS', 'PS', 'MS', 'GS', 'CP', 'CE1', 'CE2', 'CM1', 'CM2')),
    classe TEXT CHECK (length(classe) BETWEEN 1 AND 50),
    dispositif TEXT CHECK (length(dispositif) BETWEEN 1 AND 50),
    statut TEXT NOT NULL CHECK (statut IN ('en_attente', 'inscrit', 'admissibilite', 'admis', 'admis_definitif', 'radie')),
    admission_provisoire BOOLEAN NOT NULL DEFAULT FALSE,
    date_inscription DATE NOT NULL,
    date_admission DATE,
    date_radiation DATE,
    motif_radiation TEXT,
    cree_le TIMESTAMP NOT NULL,
    modifie_le TIMESTAMP NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    CHECK ((statut = 'radie') = (date_radiation IS NOT NULL)),
    CHECK (motif_radiation IS NULL OR statut = 'radie'),
    CHECK (NOT admission_provisoire OR statut = 'admis')
);
-- At most one active (non-radiated) inscription per pupil and school year, enforced here
-- so that concurrent writers cannot both win.
CREATE UNIQUE INDEX inscriptions_une_active_par_annee ON inscriptions (eleve_id, annee_scolaire) WHERE statut <> 'radie';
CREATE INDEX inscriptions_par_ecole ON inscriptions (uai, annee_scolaire, id);
CREATE INDEX inscriptions_par_eleve ON inscriptions (eleve_id);
