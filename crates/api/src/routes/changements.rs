//! `/v1/changements`: the change feed that keeps a partner's mirror in sync at a cost that grows
//! with what changed. Events are read from the store in commit order (see
//! `onde_store::changements`); what each one shows is decided now, through the caller's
//! perimeter and data profile: the current state of a resource it sees, or a tombstone.

use std::collections::HashMap;

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use onde_domain::Ecole;
use onde_store::changements::{self, Changement, Position, ResponsableSeul, Ressource};
use onde_store::Curseur;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::acces::Acces;
use crate::erreurs::erreur::ApiError;
use crate::erreurs::probleme::{ErreursLecture, Probleme};
use crate::etat::EtatApp;
use crate::http::bloquant::{executer, executer_puis};
use crate::http::pagination;
use crate::http::parametres::Lecteur;
use onde_service::Violation;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ParametresChangements {
    /// Curseur repris de `curseur_suivant` (ou du `curseur` d'un événement). Absent : la
    /// réponse ne donne que le curseur de l'instant présent, à prendre **avant** de télécharger
    /// les listes ; le flux depuis ce curseur contient tout ce que les listes ont pu manquer.
    #[param(value_type = Option<String>, pattern = r"^[A-Za-z0-9_-]{1,200}$", max_length = 200, example = "djE6ZjEyMzQ1Ljk4")]
    depuis: Option<String>,
    /// Nombre maximal d'événements lus (1 à 1000 ; 100 par défaut).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000, example = 1000)]
    limit: Option<String>,
}

/// Un changement d'une ressource visible de l'appelant.
#[derive(Debug, Serialize, ToSchema)]
pub struct Evenement {
    /// Position de l'événement dans le flux : le reprendre en `depuis` continue juste après.
    #[schema(example = "djE6ZjEyMzQ1Ljk4", pattern = r"^[A-Za-z0-9_-]{1,200}$", max_length = 200)]
    pub curseur: String,
    /// `ecole`, `eleve`, `inscription` ou `responsable`.
    #[schema(
        example = "inscription",
        max_length = 11,
        pattern = "^(ecole|eleve|inscription|responsable)$"
    )]
    pub ressource: &'static str,
    /// UAI d'une école, identifiant interne (UUID) des autres ressources.
    #[schema(example = "0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6e", max_length = 36)]
    pub id: String,
    /// `creation`, `modification`, `changement_cle` (la clé d'avant est dans `ancienne_cle` :
    /// renommer la ligne du miroir, ne pas en créer une seconde), `radiation` (l'inscription
    /// reste, au statut `radie`), ou une pierre tombale : `suppression` (la ressource n'existe
    /// plus) et `sortie_perimetre` (elle n'est plus visible de l'appelant) — retirer la ligne.
    #[schema(
        example = "modification",
        max_length = 16,
        pattern = "^(creation|modification|changement_cle|radiation|suppression|sortie_perimetre)$"
    )]
    pub operation: &'static str,
    /// Instant de validation du changement (UTC).
    pub horodatage: DateTime<Utc>,
    /// Pour `changement_cle` : l'INE provisoire remplacé, l'UAI corrigée.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "0750654D", max_length = 11)]
    pub ancienne_cle: Option<String>,
    /// L'état **actuel** de la ressource, tel que `GET` la montrerait à l'appelant (école,
    /// élève avec ses responsables, inscription, responsable) ; absent pour une pierre tombale.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = schema_donnees)]
    pub donnees: Option<Donnees>,
}

/// The state an event shows, serialised as the resource's own `GET` shows it (no tag), straight
/// from the typed view: no intermediate JSON tree per event.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Donnees {
    Ecole(Ecole),
    Eleve(crate::securite::vue::EleveVue),
    Inscription(crate::securite::vue::InscriptionDetaillee),
    Responsable(crate::securite::vue::ResponsableSeulVue),
}

/// `donnees`: a free-form object (the resource as `GET` shows it), with an inscription's example.
fn schema_donnees() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            utoipa::openapi::schema::Type::Object,
            utoipa::openapi::schema::Type::Null,
        ]))
        .description(Some(
            "L'état **actuel** de la ressource, tel que `GET` la montrerait à l'appelant (école, élève avec ses \
responsables, inscription, responsable) ; absent pour une pierre tombale.",
        ))
        .examples([serde_json::json!({"id": "0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6e", "eleve_id": "0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6f", "uai": "0750655E", "annee_scolaire": "2026-2027", "niveau": "CP", "classe": "CP-A", "dispositif": null, "statut": "admis", "admission_provisoire": false, "date_inscription": "2026-06-02", "date_admission": "2026-09-01", "date_radiation": null, "motif_radiation": null})])
        .build()
}

/// Une page du flux de changements.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageChangements {
    /// Les événements, dans l'ordre du flux ; une ressource n'y figure qu'une fois, à la
    /// position de son dernier changement lu.
    #[schema(max_items = 1000)]
    pub elements: Vec<Evenement>,
    /// Toujours présent : à reprendre en `depuis` à l'appel suivant (égal au `depuis` reçu
    /// quand rien n'a changé).
    #[schema(example = "djE6ZjEyMzQ1Ljk4", pattern = r"^[A-Za-z0-9_-]{1,200}$", max_length = 200)]
    pub curseur_suivant: String,
    /// `true` quand le flux est lu jusqu'au bout : attendre avant de rappeler. `false` aussi
    /// quand des changements déjà validés attendent la fin d'une transaction plus ancienne
    /// encore en cours (ils arrivent dès qu'elle se termine : rappeler bientôt).
    #[schema(example = true)]
    pub a_jour: bool,
    /// Page suivante quand le flux n'est pas lu jusqu'au bout (aussi dans l'en-tête `Link`).
    #[schema(max_length = 2000, example = "/v1/changements?limit=100&depuis=djE6ZjEyMzQ1Ljk4")]
    pub lien_suivant: Option<String>,
}

/// The state of the resources a page names, as the caller may see them now.
#[derive(Default)]
struct Etats {
    ecoles: HashMap<String, Ecole>,
    eleves: HashMap<String, onde_domain::Eleve>,
    inscriptions: HashMap<String, onde_store::inscriptions::InscriptionEleve>,
    responsables: HashMap<String, ResponsableSeul>,
    /// Resources gone from the base (a tombstone says `suppression`, not `sortie_perimetre`).
    disparues: std::collections::HashSet<(Ressource, String)>,
}

/// Lire le flux de changements
///
/// Les créations, modifications, changements de clé, radiations, suppressions et sorties du
/// périmètre des écoles, élèves, inscriptions et responsables visibles de l'appelant, dans
/// l'ordre où elles ont été validées, depuis un curseur. Pour tenir un miroir à jour :
/// 1. sans `depuis`, prendre le curseur de l'instant présent ; 2. télécharger les listes ;
/// 3. appeler avec `depuis` = ce curseur, appliquer chaque événement (`donnees` présent :
/// remplacer la ligne ; absent : la retirer ; `changement_cle` : renommer), puis rappeler avec
/// `curseur_suivant` — tant que `a_jour` est faux, tout de suite, sinon après une pause.
/// Une inscription porte le résumé de son élève : un changement d'INE, de nom, de prénoms, de
/// sexe ou de date de naissance est aussi une `modification` de chacune de ses inscriptions.
/// Aucun changement n'est sauté, même validé pendant la lecture ; le coût d'un appel dépend du
/// nombre d'événements lus, pas de la taille de la base. Chaque type de ressource exige son
/// scope de lecture (`ecoles:read`, `eleves:read`, `inscriptions:read`).
#[utoipa::path(
    tag = "changements",
    operation_id = "lire_changements",
    security(("oauth2" = ["ecoles:read", "eleves:read", "inscriptions:read"])),
    params(ParametresChangements),
    responses(
        (status = 200, description = "Une page du flux", body = PageChangements,
         headers(("Link" = String, description = "Page suivante, `rel=\"next\"`, quand le flux n'est pas lu jusqu'au bout"))),
        (status = 410, description = "`depuis` précède la purge du flux (durée de conservation) : des changements postérieurs \
          ont été supprimés. Repartir d'un instantané (sans `depuis`, puis les listes).",
         body = Probleme, content_type = "application/problem+json"),
        ErreursLecture,
    )
)]
#[get("/changements")]
pub async fn lire(
    etat: web::Data<EtatApp>,
    acces: Acces,
    params: web::Query<ParametresChangements>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = params.into_inner();
    crate::middleware::metriques::synchro(acces.partenaire_id);
    let mut l = Lecteur::default();
    let page = pagination::demande(&mut l, p.limit.as_deref(), None);
    let depuis = p.depuis.as_deref().map(|texte| {
        let position = Curseur::decoder(texte).and_then(|c| Position::depuis_curseur(&c));
        if position.is_none() {
            l.violation(Violation::parametre(
                "depuis",
                "curseur_invalide",
                "« depuis » doit être repris tel quel d'un curseur donné par ce flux (curseur_suivant)",
            ));
        }
        position
    });
    l.terminer()?;
    let Some(Some(depuis)) = depuis else {
        let maintenant = executer(&etat.lecture, changements::position_courante).await?;
        return Ok(pagination::reponse(
            &PageChangements {
                elements: Vec::new(),
                curseur_suivant: maintenant.curseur().encoder(),
                a_jour: true,
                lien_suivant: None,
            },
            None,
        ));
    };
    let ressources = acces.ressources_du_flux();
    let perimetre = acces.perimetre.clone();
    let limite = page.limite;
    let adresse = pagination::Adresse::de(&req);
    let auditeur = etat.auditeur.clone();
    let page = executer_puis(
        &etat.lecture,
        move |c| {
            let lecture = changements::lire(c, &perimetre, &ressources, depuis, limite)?;
            let etats = etats(c, &perimetre, &lecture.changements)?;
            Ok((lecture, etats))
        },
        move |(lecture, etats)| {
            let a_jour = !lecture.plein && !lecture.retenus;
            let suivant = lecture.derniere.unwrap_or(depuis);
            let (elements, exposes) = evenements(&acces, lecture.changements, etats);
            let ticket = acces.tracer(&auditeur, &exposes);
            let curseur_suivant = suivant.curseur();
            let lien = (!a_jour).then(|| adresse.avec("depuis", &curseur_suivant));
            let corps = PageChangements {
                elements,
                curseur_suivant: curseur_suivant.encoder(),
                a_jour,
                lien_suivant: lien.clone(),
            };
            ticket
                .pour(corps)
                .try_map(|corps| pagination::PageServie::serialiser(&corps, lien))
        },
    )
    .await?
    .liberer()
    .await?;
    Ok(page.reponse())
}

fn etats(
    c: &mut onde_store::DbConnection,
    perimetre: &onde_domain::Perimetre,
    lus: &[Changement],
) -> Result<Etats, onde_store::StoreError> {
    let mut ids: HashMap<Ressource, Vec<String>> = HashMap::new();
    for e in lus {
        ids.entry(e.ressource).or_default().push(e.id.clone());
    }
    let mut etats = Etats::default();
    let liste = |r: Ressource| ids.get(&r).cloned().unwrap_or_default();
    for e in onde_store::ecoles::par_uais(c, perimetre, &liste(Ressource::Ecole))? {
        etats.ecoles.insert(e.uai.as_str().to_owned(), e);
    }
    for e in onde_store::eleves::par_ids(c, perimetre, &liste(Ressource::Eleve))? {
        etats.eleves.insert(e.id.to_string(), e);
    }
    for i in onde_store::inscriptions::par_ids(c, perimetre, &liste(Ressource::Inscription))? {
        etats.inscriptions.insert(i.inscription.id.to_string(), i);
    }
    for r in changements::responsables_visibles(c, perimetre, &liste(Ressource::Responsable))? {
        etats.responsables.insert(r.id.to_string(), r);
    }
    // Resources not seen now: gone from the base, or out of the perimeter.
    for r in Ressource::TOUTES {
        let absents: Vec<String> = lus
            .iter()
            .filter(|e| e.ressource == r)
            .filter(|e| match r {
                Ressource::Ecole => !etats.ecoles.contains_key(&e.id),
                Ressource::Eleve => !etats.eleves.contains_key(&e.id),
                Ressource::Inscription => !etats.inscriptions.contains_key(&e.id),
                Ressource::Responsable => !etats.responsables.contains_key(&e.id),
            })
            .map(|e| e.id.clone())
            .collect();
        let existants = changements::existants(c, r, &absents)?;
        etats.disparues.extend(
            absents
                .into_iter()
                .filter(|id| !existants.contains(id))
                .map(|id| (r, id)),
        );
    }
    Ok(etats)
}

/// One event per resource (at its last position), with what the caller may see of it; and
/// the pupils whose data the page shows (for the audit trail).
fn evenements(acces: &Acces, lus: Vec<Changement>, mut etats: Etats) -> (Vec<Evenement>, Vec<Uuid>) {
    // Whether each event is its resource's last on the page (keys borrowed: no id copied).
    let dernier: HashMap<(Ressource, &str), usize> = lus
        .iter()
        .enumerate()
        .map(|(i, e)| ((e.ressource, e.id.as_str()), i))
        .collect();
    let garder: Vec<bool> = lus
        .iter()
        .enumerate()
        .map(|(i, e)| dernier.get(&(e.ressource, e.id.as_str())) == Some(&i))
        .collect();
    drop(dernier);
    let mut exposes = Vec::new();
    let mut elements = Vec::new();
    for (e, garder) in lus.into_iter().zip(garder) {
        if !garder {
            continue;
        }
        let donnees = match e.ressource {
            Ressource::Ecole => etats.ecoles.remove(&e.id).map(Donnees::Ecole),
            Ressource::Eleve => etats.eleves.remove(&e.id).map(|el| {
                exposes.push(el.id);
                Donnees::Eleve(acces.vue_eleve(el))
            }),
            Ressource::Inscription => etats.inscriptions.remove(&e.id).map(|ins| {
                exposes.push(ins.eleve.id);
                Donnees::Inscription(acces.vue_inscription(ins))
            }),
            Ressource::Responsable => etats.responsables.remove(&e.id).map(|r| {
                exposes.extend(r.eleves.iter().copied());
                Donnees::Responsable(acces.vue_responsable_seul(r))
            }),
        };
        let operation = match (&donnees, e.operation.as_str()) {
            (Some(_), "creation") | (Some(_), "suppression") => "creation",
            (Some(_), "changement_cle") => "changement_cle",
            (Some(_), "radiation") => "radiation",
            (Some(_), _) => "modification",
            (None, _) if etats.disparues.contains(&(e.ressource, e.id.clone())) => "suppression",
            (None, _) => "sortie_perimetre",
        };
        let ancienne_cle = e
            .ancienne_cle
            .filter(|_| operation == "changement_cle")
            .and_then(|c| acces.ancienne_cle_visible(e.ressource, c));
        elements.push(Evenement {
            curseur: e.position.curseur().encoder(),
            ressource: e.ressource.as_str(),
            id: e.id,
            operation,
            horodatage: e.horodatage.and_utc(),
            ancienne_cle,
            donnees,
        });
    }
    exposes.sort();
    exposes.dedup();
    (elements, exposes)
}
