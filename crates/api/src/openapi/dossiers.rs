//! Descriptions, for the OpenAPI document only, of the request bodies that the domain reads by
//! hand ([`onde_domain::dossier::DossierEleve::lire`], [`onde_domain::poussee::ElementPousse::lire`]):
//! those readers collect every violation with its JSON pointer, which serde cannot do, so these
//! types are never deserialised. Their bounds mirror the readers' (checked by the contract tests).
#![allow(dead_code)]

use chrono::NaiveDate;
use onde_domain::{AnneeScolaire, CodeInsee, Ine, LienResponsable, Niveau, Prenoms, Sexe, StatutInscription, Uai};
use serde::Deserialize;
use utoipa::ToSchema;

/// Le dossier d'un élève tel qu'un partenaire l'envoie.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "ine": "0494004062M",
    "nom": "Morel",
    "prenoms": ["Léa", "Rose"],
    "sexe": "F",
    "date_naissance": "2020-04-02",
    "lieu_naissance": "75056",
    "adresse": {"voie": "12 rue de la République", "code_postal": "75011", "commune": "75056"},
    "responsables": [{"nom": "Morel", "prenom": "Sophie", "lien": "mere", "autorite_parentale": true,
                      "telephone": "06 12 34 56 78", "courriel": "sophie.morel@example.fr"}]
}))]
pub struct DossierEleve {
    /// INE de l'élève : obligatoire dans un lot ou un import ; dans `PUT /v1/eleves/{ine}`,
    /// facultatif et égal à celui du chemin ; absent pour un nouvel élève en attente d'INE.
    ine: Option<Ine>,
    /// Nom de famille (espaces aux extrémités retirés).
    #[schema(min_length = 1, max_length = 100, example = "Morel")]
    nom: String,
    /// Prénoms, du premier au troisième.
    prenoms: Prenoms,
    /// Sexe.
    sexe: Sexe,
    /// Date de naissance : l'élève a de 2 à 12 ans à la rentrée, et elle est cohérente avec le
    /// niveau de ses inscriptions (année théorique ± 1 an).
    #[schema(example = "2020-04-02")]
    date_naissance: NaiveDate,
    /// Commune de naissance, ou pays (99xxx) pour une naissance à l'étranger.
    lieu_naissance: CodeInsee,
    /// Adresse de résidence, en France.
    adresse: Option<onde_domain::Adresse>,
    /// Responsables légaux (remplacent les précédents), quatre au plus.
    #[schema(max_items = 4)]
    responsables: Option<Vec<ResponsableDossier>>,
}

/// Un responsable légal tel qu'un partenaire l'envoie avec le dossier d'un élève.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponsableDossier {
    /// Nom de famille.
    #[schema(min_length = 1, max_length = 100, example = "Morel")]
    nom: String,
    /// Prénom.
    #[schema(min_length = 1, max_length = 100, example = "Sophie")]
    prenom: String,
    /// Lien avec l'élève.
    lien: LienResponsable,
    /// Exerce l'autorité parentale.
    #[schema(example = true)]
    autorite_parentale: bool,
    /// Téléphone : 10 chiffres commençant par 0, ou +indicatif (espaces, points et tirets ignorés).
    #[schema(max_length = 200, pattern = r"^[0-9+ .-]+$", example = "06 12 34 56 78")]
    telephone: Option<String>,
    /// Adresse électronique.
    #[schema(max_length = 200, format = Email, example = "sophie.morel@example.fr")]
    courriel: Option<String>,
    /// Adresse postale, si différente de celle de l'élève.
    #[schema(min_length = 1, max_length = 300, example = "3 rue de Siam, 29200 Brest")]
    adresse: Option<String>,
}

/// Correctif JSON (RFC 7396) d'un dossier d'élève : les champs absents restent, `null` efface
/// un champ facultatif, `prenoms` et `responsables` sont remplacés entiers, `adresse` est
/// fusionnée champ à champ. Le résultat doit être un dossier complet valide.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"adresse": {"voie": "8 place de la Mairie", "code_postal": "75011"}}))]
pub struct CorrectifEleve {
    /// INE : s'il est donné, égal à celui du chemin.
    ine: Option<Ine>,
    /// Nom de famille.
    #[schema(min_length = 1, max_length = 100, example = "Morel")]
    nom: Option<String>,
    /// Prénoms (remplacent les précédents).
    prenoms: Option<Prenoms>,
    /// Sexe.
    sexe: Option<Sexe>,
    /// Date de naissance.
    #[schema(example = "2020-04-02")]
    date_naissance: Option<NaiveDate>,
    /// Commune (ou pays) de naissance.
    lieu_naissance: Option<CodeInsee>,
    /// Adresse de résidence, fusionnée champ à champ ; `null` l'efface.
    adresse: Option<CorrectifAdresse>,
    /// Responsables légaux (remplacent les précédents) ; `null` ou `[]` les retire.
    #[schema(max_items = 4)]
    responsables: Option<Vec<ResponsableDossier>>,
}

/// Correctif de l'adresse de résidence.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectifAdresse {
    /// Numéro et voie.
    #[schema(min_length = 1, max_length = 200, example = "8 place de la Mairie")]
    voie: Option<String>,
    /// Code postal (5 chiffres).
    #[schema(pattern = r"^[0-9]{5}$", max_length = 5, example = "75011")]
    code_postal: Option<String>,
    /// Commune de résidence (code INSEE).
    commune: Option<CodeInsee>,
}

/// Mode d'application d'un lot.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(example = "partiel")]
pub enum ModeLot {
    /// Chaque élément est appliqué ou rejeté seul.
    Partiel,
    /// Au moindre rejet, rien n'est appliqué (422).
    ToutOuRien,
}

/// Un lot d'élèves à pousser.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "mode": "partiel",
    "elements": [{
        "eleve": {"ine": "0494004062M", "nom": "Morel", "prenoms": ["Léa"], "sexe": "F",
                  "date_naissance": "2020-04-02", "lieu_naissance": "75056"},
        "inscriptions": [{"uai": "0750655E", "annee_scolaire": "2026-2027", "niveau": "CP",
                          "classe": "CP-A", "statut": "admis_definitif"}]
    }]
}))]
pub struct DemandeLot {
    /// `partiel` par défaut.
    mode: Option<ModeLot>,
    /// Les éléments du lot, de 1 à 1 000.
    #[schema(min_items = 1, max_items = 1000)]
    elements: Vec<ElementLot>,
}

/// Un élément d'un lot (ou une ligne d'un import NDJSON) : le dossier d'un élève identifié par
/// son INE et les inscriptions qu'il a.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ElementLot {
    /// Le dossier de l'élève, `ine` obligatoire.
    eleve: DossierEleve,
    /// Ses inscriptions, au plus une par année scolaire (20 au plus).
    #[schema(max_items = 20)]
    inscriptions: Option<Vec<InscriptionPoussee>>,
}

/// Une inscription poussée : l'état dans lequel elle est.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InscriptionPoussee {
    /// École d'inscription (dans le périmètre de l'appelant).
    uai: Uai,
    /// Année scolaire.
    annee_scolaire: AnneeScolaire,
    /// Niveau, cohérent avec la date de naissance.
    niveau: Niveau,
    /// Classe (libellé libre).
    #[schema(min_length = 1, max_length = 50, example = "CP-A")]
    classe: Option<String>,
    /// Dispositif particulier (ex. ULIS).
    #[schema(min_length = 1, max_length = 50, example = "ULIS")]
    dispositif: Option<String>,
    /// Statut (`inscrit` par défaut ; `radie` passe par l'opération de radiation).
    statut: Option<StatutInscription>,
    /// Admission provisoire (seulement au statut `admis`).
    #[schema(example = false)]
    admission_provisoire: Option<bool>,
    /// Date d'inscription ; par défaut le jour de la lecture.
    #[schema(example = "2026-06-02")]
    date_inscription: Option<NaiveDate>,
    /// Date d'admission ; par défaut la date d'inscription pour un élève admis.
    #[schema(example = "2026-09-01")]
    date_admission: Option<NaiveDate>,
}

/// Corps (vide) d'une mise en admissibilité.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({}))]
pub struct DemandeAdmissibilite {}
