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

diesel::joinable!(ecoles -> communes (code_commune));
diesel::joinable!(inscriptions -> ecoles (uai));
diesel::joinable!(inscriptions -> eleves (eleve_id));
diesel::joinable!(eleves_responsables -> eleves (eleve_id));
diesel::joinable!(eleves_responsables -> responsables (responsable_id));

diesel::allow_tables_to_appear_in_same_query!(
    communes,
    ecoles,
    eleves,
    responsables,
    eleves_responsables,
    inscriptions,
);
