//! The only way personal data leaves the gateway: views that keep the fields of the caller's
//! data profile (the others are never serialised) and record the access in the audit trail.
//! A read's views come wrapped in an [`Audite`]: the handler gets them out only once their
//! audit record is committed.

use chrono::{NaiveDate, Utc};
use onde_domain::{
    Adresse, ChampEleve, CodeInsee, Eleve, Ine, Inscription, LienResponsable, Prenoms, ProfilDonnees, Responsable,
    ResumeEleve, Sexe,
};
use onde_store::audit::NouvelleEntree;
use onde_store::inscriptions::InscriptionEleve;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::acces::Acces;
use crate::securite::auditeur::{Audite, Auditeur, Ticket};

/// Un élève, limité aux champs du profil de données de l'appelant (les autres sont absents).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EleveVue {
    /// Identifiant interne stable de l'élève.
    #[schema(example = "0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6f")]
    pub id: Uuid,
    /// Absent hors profil, ou tant que l'élève est en attente d'INE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ine: Option<Ine>,
    /// Nom de famille (profil « identité »).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "Dupont-Lefèvre", max_length = 100)]
    pub nom: Option<String>,
    /// Prénoms, du premier au troisième (profil « identité »).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prenoms: Option<Prenoms>,
    /// Sexe (profil « identité »).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sexe: Option<Sexe>,
    /// Date de naissance (profil « identité »).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "2020-04-02")]
    pub date_naissance: Option<NaiveDate>,
    /// Commune de naissance, ou pays (99xxx) pour une naissance à l'étranger.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lieu_naissance: Option<CodeInsee>,
    /// Adresse de résidence (profil « adresse »).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adresse: Option<Adresse>,
    /// Responsables légaux (profil « responsables »), quatre au plus.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 4)]
    pub responsables: Option<Vec<ResponsableVue>>,
}

/// Un responsable légal, coordonnées comprises si le profil de l'appelant les couvre.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResponsableVue {
    /// Identifiant interne du responsable (partagé entre frères et sœurs).
    pub id: Uuid,
    /// Nom de famille.
    #[schema(example = "Martin", max_length = 100)]
    pub nom: String,
    /// Prénom.
    #[schema(example = "Sophie", max_length = 100)]
    pub prenom: String,
    /// Lien avec l'élève.
    pub lien: LienResponsable,
    /// Exerce l'autorité parentale.
    #[schema(example = true)]
    pub autorite_parentale: bool,
    /// Téléphone (profil « contacts des responsables »).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "0612345678", max_length = 16)]
    pub telephone: Option<String>,
    /// Adresse électronique (profil « contacts des responsables »).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "sophie.martin@example.fr", max_length = 254)]
    pub courriel: Option<String>,
    /// Adresse postale (profil « contacts des responsables »).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "12 rue de la République, 75011 Paris", max_length = 300)]
    pub adresse: Option<String>,
}

/// Un responsable légal seul (le lien avec chaque élève est dans le dossier de l'élève).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResponsableSeulVue {
    pub id: Uuid,
    #[schema(example = "Martin")]
    pub nom: String,
    #[schema(example = "Sophie")]
    pub prenom: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "0612345678")]
    pub telephone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "sophie.martin@example.fr")]
    pub courriel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adresse: Option<String>,
    /// Ses élèves visibles de l'appelant (à travers qui il le voit).
    pub eleves: Vec<Uuid>,
}

/// L'identité d'un élève dans une liste, limitée au profil de l'appelant.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResumeEleveVue {
    /// Identifiant interne stable de l'élève.
    #[schema(example = "0192d3e4-5f6a-7b8c-9d0e-1f2a3b4c5d6f")]
    pub id: Uuid,
    /// INE ; absent hors profil ou tant que l'élève est en attente d'INE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ine: Option<Ine>,
    /// Nom de famille (profil « identité »).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "Dupont-Lefèvre", max_length = 100)]
    pub nom: Option<String>,
    /// Prénoms (profil « identité »).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prenoms: Option<Prenoms>,
    /// Sexe (profil « identité »).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sexe: Option<Sexe>,
    /// Date de naissance (profil « identité »).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "2020-04-02")]
    pub date_naissance: Option<NaiveDate>,
}

/// Une inscription avec l'identité de l'élève.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InscriptionDetaillee {
    #[serde(flatten)]
    pub inscription: Inscription,
    /// L'élève inscrit, limité au profil de données de l'appelant.
    pub eleve: ResumeEleveVue,
}

fn si<T>(profil: &ProfilDonnees, champ: ChampEleve, v: T) -> Option<T> {
    profil.lit(champ).then_some(v)
}

fn responsable(profil: &ProfilDonnees, r: Responsable) -> ResponsableVue {
    let contacts = profil.lit(ChampEleve::ContactsResponsables);
    ResponsableVue {
        id: r.id,
        nom: r.nom,
        prenom: r.prenom,
        lien: r.lien,
        autorite_parentale: r.autorite_parentale,
        telephone: r.telephone.filter(|_| contacts),
        courriel: r.courriel.filter(|_| contacts),
        adresse: r.adresse.filter(|_| contacts),
    }
}

fn resume(profil: &ProfilDonnees, e: ResumeEleve) -> ResumeEleveVue {
    ResumeEleveVue {
        id: e.id,
        ine: e.ine.filter(|_| profil.lit(ChampEleve::Ine)),
        nom: si(profil, ChampEleve::Identite, e.nom),
        prenoms: si(profil, ChampEleve::Identite, e.prenoms),
        sexe: si(profil, ChampEleve::Identite, e.sexe),
        date_naissance: si(profil, ChampEleve::Identite, e.date_naissance),
    }
}

impl Acces {
    /// The audit record of this request for `eleves` (`None` when no pupil is shown), counted
    /// in the activity metrics. Written by the group-commit writer ([`Acces::tracer`]) or, for
    /// a write, in the write's own transaction.
    pub fn entree_audit(&self, eleves: &[Uuid]) -> Option<NouvelleEntree> {
        if eleves.is_empty() {
            return None;
        }
        crate::middleware::metriques::enregistrements(self.partenaire_id, self.lecture, eleves.len());
        let mut ids = String::with_capacity(eleves.len() * 37);
        for (i, id) in eleves.iter().enumerate() {
            if i > 0 {
                ids.push(' ');
            }
            ids.push_str(&id.to_string());
        }
        Some(NouvelleEntree {
            horodatage: Utc::now().naive_utc(),
            partenaire_id: self.partenaire_id.to_string(),
            client_id: self.client_id.clone(),
            pour_le_compte_de: self.pour_le_compte_de.as_ref().map(|c| c.as_str().to_owned()),
            operation: self.operation.clone(),
            scope: self.scope.as_str().to_owned(),
            eleves: ids,
            nombre: i32::try_from(eleves.len()).unwrap_or(i32::MAX),
            id_requete: self.id_requete.clone(),
        })
    }

    /// Records that the data of `eleves` is being shown by this request; the data may leave
    /// once the ticket is durable (see [`crate::securite::auditeur`]).
    pub fn tracer(&self, auditeur: &Auditeur, eleves: &[Uuid]) -> Ticket {
        match self.entree_audit(eleves) {
            Some(e) => auditeur.tracer(e),
            None => Ticket::rien(),
        }
    }

    pub fn exposer_eleve(&self, auditeur: &Auditeur, e: Eleve) -> Audite<EleveVue> {
        self.tracer(auditeur, &[e.id]).pour(self.vue_eleve(e))
    }

    pub fn exposer_eleves(&self, auditeur: &Auditeur, liste: Vec<Eleve>) -> Audite<Vec<EleveVue>> {
        let ids: Vec<Uuid> = liste.iter().map(|e| e.id).collect();
        self.tracer(auditeur, &ids)
            .pour(liste.into_iter().map(|e| self.vue_eleve(e)).collect())
    }

    pub fn exposer_inscriptions(
        &self,
        auditeur: &Auditeur,
        liste: Vec<InscriptionEleve>,
    ) -> Audite<Vec<InscriptionDetaillee>> {
        // One entry per pupil, even when a page shows several of their inscriptions.
        let mut vus = std::collections::HashSet::new();
        let ids: Vec<Uuid> = liste.iter().map(|i| i.eleve.id).filter(|id| vus.insert(*id)).collect();
        self.tracer(auditeur, &ids).pour(
            liste
                .into_iter()
                .map(|i| InscriptionDetaillee {
                    inscription: i.inscription,
                    eleve: resume(&self.profil, i.eleve),
                })
                .collect(),
        )
    }
}

impl Acces {
    /// The view of an inscription just written, without an audit record (the write records
    /// one once committed).
    pub fn vue_inscription(&self, i: InscriptionEleve) -> InscriptionDetaillee {
        InscriptionDetaillee {
            inscription: i.inscription,
            eleve: resume(&self.profil, i.eleve),
        }
    }

    /// A guardian on their own (change feed), contacts as the profile allows. The caller
    /// records the pupils it is seen through.
    pub fn vue_responsable_seul(&self, r: onde_store::changements::ResponsableSeul) -> ResponsableSeulVue {
        let contacts = self.profil.lit(ChampEleve::ContactsResponsables);
        ResponsableSeulVue {
            id: r.id,
            nom: r.nom,
            prenom: r.prenom,
            telephone: r.telephone.filter(|_| contacts),
            courriel: r.courriel.filter(|_| contacts),
            adresse: r.adresse.filter(|_| contacts),
            eleves: r.eleves,
        }
    }

    /// A key change's former key (change feed): a former INE only to who may read INEs.
    pub fn ancienne_cle_visible(&self, r: onde_store::changements::Ressource, cle: String) -> Option<String> {
        (r != onde_store::changements::Ressource::Eleve || self.profil.lit(ChampEleve::Ine)).then_some(cle)
    }

    /// The view of a pupil just written, without an audit record.
    pub fn vue_eleve(&self, e: Eleve) -> EleveVue {
        let p = &self.profil;
        EleveVue {
            id: e.id,
            ine: e.ine.filter(|_| p.lit(ChampEleve::Ine)),
            nom: si(p, ChampEleve::Identite, e.nom),
            prenoms: si(p, ChampEleve::Identite, e.prenoms),
            sexe: si(p, ChampEleve::Identite, e.sexe),
            date_naissance: si(p, ChampEleve::Identite, e.date_naissance),
            lieu_naissance: si(p, ChampEleve::LieuNaissance, e.lieu_naissance),
            adresse: e.adresse.filter(|_| p.lit(ChampEleve::Adresse)),
            responsables: si(
                p,
                ChampEleve::Responsables,
                e.responsables.into_iter().map(|r| responsable(p, r)).collect(),
            ),
        }
    }
}
