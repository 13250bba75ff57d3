//! Diesel table definitions, identical for both backends (see migrations/).

diesel::table! {
    communes (code_insee) {
        code_insee -> Text,
        nom -> Text,
    }
}

diesel::table! {
    ecoles (uai) {
        uai -> Text,
        nom -> Text,
        type_ecole -> Text,
        secteur -> Text,
        code_commune -> Text,
        circonscription -> Nullable<Text>,
        adresse -> Nullable<Text>,
        rpi -> Nullable<Text>,
        date_ouverture -> Nullable<Date>,
        date_fermeture -> Nullable<Date>,
    }
}

diesel::table! {
    eleves (id) {
        id -> Text,
        ine -> Nullable<Text>,
        nom -> Text,
        prenom1 -> Text,
        prenom2 -> Nullable<Text>,
        prenom3 -> Nullable<Text>,
        sexe -> Text,
        date_naissance -> Date,
        lieu_naissance -> Text,
        adresse_voie -> Nullable<Text>,
        adresse_code_postal -> Nullable<Text>,
        adresse_commune -> Nullable<Text>,
        cree_le -> Timestamp,
        modifie_le -> Timestamp,
        version -> BigInt,
        cle_doublon -> Text,
        empreinte -> Nullable<Binary>,
    }
}

diesel::table! {
    responsables (id) {
        id -> Text,
        nom -> Text,
        prenom -> Text,
        telephone -> Nullable<Text>,
        courriel -> Nullable<Text>,
        adresse -> Nullable<Text>,
        cree_le -> Timestamp,
        modifie_le -> Timestamp,
    }
}

diesel::table! {
    eleves_responsables (eleve_id, responsable_id) {
        eleve_id -> Text,
        responsable_id -> Text,
        lien -> Text,
        autorite_parentale -> Bool,
        rang -> Integer,
    }
}

diesel::table! {
    inscriptions (id) {
        id -> Text,
        eleve_id -> Text,
        uai -> Text,
        annee_scolaire -> Text,
        niveau -> Text,
        classe -> Nullable<Text>,
        dispositif -> Nullable<Text>,
        statut -> Text,
        admission_provisoire -> Bool,
        date_inscription -> Date,
        date_admission -> Nullable<Date>,
        date_radiation -> Nullable<Date>,
        motif_radiation -> Nullable<Text>,
        cree_le -> Timestamp,
        modifie_le -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    partenaires (id) {
        id -> Text,
        nom -> Text,
        type_partenaire -> Text,
        scopes -> Text,
        actif -> Bool,
        cree_le -> Timestamp,
        modifie_le -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    partenaires_communes (partenaire_id, code_insee) {
        partenaire_id -> Text,
        code_insee -> Text,
    }
}

diesel::table! {
    partenaires_uais (partenaire_id, uai) {
        partenaire_id -> Text,
        uai -> Text,
    }
}

diesel::table! {
    mandats (partenaire_id, cible_type, cible_code) {
        partenaire_id -> Text,
        cible_type -> Text,
        cible_code -> Text,
        libelle -> Nullable<Text>,
    }
}

diesel::table! {
    clients (client_id) {
        client_id -> Text,
        partenaire_id -> Text,
        secret_hash -> Text,
        ancien_secret_hash -> Nullable<Text>,
        ancien_secret_expire_le -> Nullable<Timestamp>,
        cree_le -> Timestamp,
        revoque_le -> Nullable<Timestamp>,
    }
}

diesel::table! {
    cles_signature (kid) {
        kid -> Text,
        algorithme -> Text,
        cle_privee -> Text,
        cle_publique -> Text,
        cree_le -> Timestamp,
        retiree_le -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit (id) {
        id -> BigInt,
        horodatage -> Timestamp,
        partenaire_id -> Text,
        client_id -> Text,
        pour_le_compte_de -> Nullable<Text>,
        operation -> Text,
        scope -> Text,
        eleves -> Text,
        nombre -> Integer,
        id_requete -> Text,
    }
}

diesel::table! {
    idempotence (partenaire_id, cle) {
        partenaire_id -> Text,
        cle -> Text,
        empreinte -> Text,
        statut -> Integer,
        corps -> Text,
        entetes -> Text,
        eleves -> Text,
        cree_le -> Timestamp,
    }
}

// `imports.battement_le` and `imports.motif` are left out: diesel's 16-column limit (the
// 32-column feature doubles its compile time); `imports_suivi` below reaches them.
diesel::table! {
    imports (id) {
        id -> Text,
        partenaire_id -> Nullable<Text>,
        client_id -> Nullable<Text>,
        format -> Text,
        mode -> Text,
        statut -> Text,
        total -> Nullable<BigInt>,
        traites -> BigInt,
        crees -> BigInt,
        modifies -> BigInt,
        inchanges -> BigInt,
        rejetes -> BigInt,
        cree_le -> Timestamp,
        debut_le -> Nullable<Timestamp>,
        fin_le -> Nullable<Timestamp>,
        erreur -> Nullable<Text>,
    }
}

// The same table under a second name, for the job's life cycle: the columns past the limit
// with those its statements filter by.
diesel::table! {
    #[sql_name = "imports"]
    imports_suivi (id) {
        id -> Text,
        statut -> Text,
        cree_le -> Timestamp,
        fin_le -> Nullable<Timestamp>,
        erreur -> Nullable<Text>,
        battement_le -> Nullable<Timestamp>,
        motif -> Nullable<Text>,
    }
}

diesel::table! {
    imports_rejets (import_id, ligne, rang) {
        import_id -> Text,
        ligne -> BigInt,
        rang -> Integer,
        pointeur -> Text,
        code -> Text,
        message -> Text,
    }
}

diesel::joinable!(ecoles -> communes (code_commune));
diesel::joinable!(clients -> partenaires (partenaire_id));
diesel::joinable!(inscriptions -> ecoles (uai));
diesel::joinable!(inscriptions -> eleves (eleve_id));
diesel::joinable!(eleves_responsables -> eleves (eleve_id));
diesel::joinable!(eleves_responsables -> responsables (responsable_id));
diesel::joinable!(imports_rejets -> imports (import_id));

diesel::allow_tables_to_appear_in_same_query!(
    communes,
    ecoles,
    eleves,
    responsables,
    eleves_responsables,
    inscriptions,
    partenaires,
    clients,
);
