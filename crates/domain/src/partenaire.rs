//! Partners of the gateway: their kind, the scopes they may hold, their perimeter (which rows)
//! and their data profile (which fields). Resolved server-side on every request.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{CodeInsee, DomainError, Perimetre, Uai};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "Type de partenaire : il fixe la forme du périmètre et le profil de données.",
    example = "mairie"
)]
pub enum TypePartenaire {
    /// Une commune (mairie) ; périmètre : ses communes.
    Mairie,
    /// Une école privée sous contrat ; périmètre : ses UAI.
    EcolePrivee,
    /// Un éditeur de logiciels agissant pour plusieurs mandants ; périmètre : l'union de ses mandats.
    Editeur,
    /// L'équipe nationale d'exploitation.
    Admin,
}

impl TypePartenaire {
    pub const TOUS: [TypePartenaire; 4] = [Self::Mairie, Self::EcolePrivee, Self::Editeur, Self::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mairie => "mairie",
            Self::EcolePrivee => "ecole_privee",
            Self::Editeur => "editeur",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::TOUS.into_iter().find(|t| t.as_str() == s).ok_or_else(|| {
            DomainError::invalide(
                "type_partenaire_inconnu",
                "le type vaut mairie, ecole_privee, editeur ou admin",
            )
        })
    }

    /// The scopes a partner of this kind may ever be granted.
    pub fn scopes_possibles(self) -> Scopes {
        use Scope::*;
        Scopes::de(match self {
            Self::Mairie => &[EcolesRead, ElevesRead, InscriptionsRead, InscriptionsWrite][..],
            Self::EcolePrivee | Self::Editeur => {
                &[EcolesRead, ElevesRead, ElevesWrite, InscriptionsRead, InscriptionsWrite]
            }
            Self::Admin => &[EcolesRead, Admin],
        })
    }
}

impl fmt::Display for TypePartenaire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An operation family a token may be granted (OAuth 2.0 scope).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[schema(
    description = "Scope OAuth 2.0 : une famille d'opérations qu'un jeton peut autoriser.",
    example = "inscriptions:read"
)]
pub enum Scope {
    #[serde(rename = "ecoles:read")]
    EcolesRead,
    #[serde(rename = "eleves:read")]
    ElevesRead,
    #[serde(rename = "eleves:write")]
    ElevesWrite,
    #[serde(rename = "inscriptions:read")]
    InscriptionsRead,
    #[serde(rename = "inscriptions:write")]
    InscriptionsWrite,
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    pub const TOUS: [Scope; 6] = [
        Scope::EcolesRead,
        Scope::ElevesRead,
        Scope::ElevesWrite,
        Scope::InscriptionsRead,
        Scope::InscriptionsWrite,
        Scope::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::EcolesRead => "ecoles:read",
            Scope::ElevesRead => "eleves:read",
            Scope::ElevesWrite => "eleves:write",
            Scope::InscriptionsRead => "inscriptions:read",
            Scope::InscriptionsWrite => "inscriptions:write",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::TOUS.into_iter().find(|t| t.as_str() == s).ok_or_else(|| {
            DomainError::invalide(
                "scope_inconnu",
                format!(
                    "scope « {} » inconnu : ecoles:read, eleves:read, eleves:write, inscriptions:read, inscriptions:write ou admin",
                    s.chars().take(40).collect::<String>()
                ),
            )
        })
    }

    pub fn description(self) -> &'static str {
        match self {
            Scope::EcolesRead => "Lire les écoles du périmètre",
            Scope::ElevesRead => "Lire les élèves du périmètre et leurs responsables",
            Scope::ElevesWrite => "Créer et modifier des élèves du périmètre",
            Scope::InscriptionsRead => "Lire les inscriptions du périmètre",
            Scope::InscriptionsWrite => "Créer des inscriptions et les faire évoluer",
            Scope::Admin => "Administrer les partenaires et consulter la piste d'audit",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of scopes; in OAuth messages, a space-separated list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[schema(value_type = Vec<Scope>)]
pub struct Scopes(BTreeSet<Scope>);

impl Scopes {
    pub fn de(scopes: &[Scope]) -> Self {
        Self(scopes.iter().copied().collect())
    }

    /// Parses `"ecoles:read inscriptions:read"`; every unknown scope is an error.
    pub fn parse_liste(s: &str) -> Result<Self, DomainError> {
        s.split_whitespace()
            .map(Scope::parse)
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Self)
    }

    pub fn contient(&self, s: Scope) -> bool {
        self.0.contains(&s)
    }

    pub fn inclus_dans(&self, autre: &Scopes) -> bool {
        self.0.is_subset(&autre.0)
    }

    pub fn intersection(&self, autre: &Scopes) -> Scopes {
        Self(self.0.intersection(&autre.0).copied().collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    pub fn est_vide(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut premier = true;
        for s in &self.0 {
            if !premier {
                f.write_str(" ")?;
            }
            f.write_str(s.as_str())?;
            premier = false;
        }
        Ok(())
    }
}

/// Who a mandate of an editor acts for: a mairie (named by its commune) or a school.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "type", content = "code")]
#[schema(
    description = "Le mandant d'un éditeur : une mairie (par le code INSEE de sa commune) ou une école (par son UAI)."
)]
pub enum CibleMandat {
    /// La mairie de cette commune (code INSEE).
    Commune(CodeInsee),
    /// Cette école (UAI).
    Ecole(Uai),
}

impl CibleMandat {
    /// Reads the value of the narrowing header: a commune code or a UAI.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if let Ok(uai) = Uai::parse(s) {
            return Ok(Self::Ecole(uai));
        }
        CodeInsee::parse(s).map(Self::Commune).map_err(|_| {
            DomainError::invalide(
                "mandat_format",
                "un mandat se désigne par le code INSEE de la commune mandante ou l'UAI de l'école mandante",
            )
        })
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Commune(c) => c.as_str(),
            Self::Ecole(u) => u.as_str(),
        }
    }

    /// The kind of partner the principal is: a mairie for a commune, a private school for a UAI.
    pub fn type_mandant(&self) -> TypePartenaire {
        match self {
            Self::Commune(_) => TypePartenaire::Mairie,
            Self::Ecole(_) => TypePartenaire::EcolePrivee,
        }
    }

    /// The data profile of the principal: a mairie's for a commune, a school's for a UAI.
    pub fn profil(&self) -> ProfilDonnees {
        ProfilDonnees::pour(self.type_mandant())
    }

    /// Whether acting for this principal can allow `scope`: a mandate lends at most the scopes
    /// of its principal's kind (a commune's mandate never writes pupil records).
    pub fn prete(&self, scope: Scope) -> bool {
        self.type_mandant().scopes_possibles().contient(scope)
    }
}

/// Groups of pupil fields a data profile grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChampEleve {
    /// INE.
    Ine,
    /// Nom, prénoms, sexe, date de naissance.
    Identite,
    /// Lieu de naissance.
    LieuNaissance,
    /// Adresse de résidence.
    Adresse,
    /// Responsables légaux (nom, prénom, lien, autorité parentale).
    Responsables,
    /// Coordonnées des responsables (téléphone, courriel, adresse).
    ContactsResponsables,
}

impl ChampEleve {
    pub const TOUS: [ChampEleve; 6] = [
        Self::Ine,
        Self::Identite,
        Self::LieuNaissance,
        Self::Adresse,
        Self::Responsables,
        Self::ContactsResponsables,
    ];
}

/// Which pupil fields a partner may read (DOMAIN.md, "who may see what").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProfilDonnees {
    lecture: BTreeSet<ChampEleve>,
}

impl ProfilDonnees {
    /// The profile of a kind. A mairie needs identity, address, guardians and their contacts for
    /// canteen, after-school care and transport, not the place of birth (which it may still
    /// write when it creates a pupil: duplicate detection needs it). The operations team reads
    /// no pupil field at all.
    pub fn pour(type_partenaire: TypePartenaire) -> Self {
        use ChampEleve::*;
        let lecture: &[ChampEleve] = match type_partenaire {
            TypePartenaire::Mairie => &[Ine, Identite, Adresse, Responsables, ContactsResponsables],
            TypePartenaire::EcolePrivee | TypePartenaire::Editeur => &ChampEleve::TOUS,
            TypePartenaire::Admin => &[],
        };
        Self {
            lecture: lecture.iter().copied().collect(),
        }
    }

    pub fn lit(&self, champ: ChampEleve) -> bool {
        self.lecture.contains(&champ)
    }

    /// Fields both profiles grant.
    pub fn intersection(&self, autre: &ProfilDonnees) -> ProfilDonnees {
        Self {
            lecture: self.lecture.intersection(&autre.lecture).copied().collect(),
        }
    }

    pub fn champs(&self) -> impl Iterator<Item = ChampEleve> + '_ {
        self.lecture.iter().copied()
    }
}

/// A mandate given to an editor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(description = "Un mandat confié à un éditeur.")]
pub struct Mandat {
    /// Pour le compte de qui l'éditeur agit.
    pub cible: CibleMandat,
    /// Libellé libre (ex. « Mairie de Lyon — logiciel périscolaire »).
    #[schema(example = "Mairie de Lyon", max_length = 200)]
    pub libelle: Option<String>,
}

/// A partner as the security checks see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partenaire {
    pub id: Uuid,
    pub nom: String,
    pub type_partenaire: TypePartenaire,
    pub scopes: Scopes,
    pub communes: BTreeSet<CodeInsee>,
    pub uais: BTreeSet<Uai>,
    pub mandats: Vec<Mandat>,
    pub actif: bool,
}

/// Perimeter and data profile of one request, after an optional narrowing to one mandate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Droits {
    pub perimetre: Perimetre,
    pub profil: ProfilDonnees,
    /// The mandate the request acts under ("on behalf of"), for the audit trail.
    pub pour_le_compte_de: Option<CibleMandat>,
}

impl Partenaire {
    /// Checks the invariants of a partner: scopes allowed for its kind, a perimeter of the
    /// right shape (communes for a mairie, UAIs for a school, mandates for an editor).
    pub fn verifier(&self) -> Result<(), DomainError> {
        if !self.scopes.inclus_dans(&self.type_partenaire.scopes_possibles()) {
            return Err(DomainError::invalide(
                "scope_interdit",
                format!(
                    "un partenaire {} ne peut détenir que les scopes : {}",
                    self.type_partenaire,
                    self.type_partenaire.scopes_possibles()
                ),
            ));
        }
        let (communes, uais, mandats) = (
            !self.communes.is_empty(),
            !self.uais.is_empty(),
            !self.mandats.is_empty(),
        );
        let forme_ok = match self.type_partenaire {
            TypePartenaire::Mairie => !uais && !mandats,
            TypePartenaire::EcolePrivee => !communes && !mandats,
            TypePartenaire::Editeur => !communes && !uais,
            TypePartenaire::Admin => !communes && !uais && !mandats,
        };
        if !forme_ok {
            return Err(DomainError::invalide(
                "perimetre_incoherent",
                "une mairie a des communes, une école privée des UAI, un éditeur des mandats, un administrateur rien de tout cela",
            ));
        }
        if self.nom.trim().is_empty() || self.nom.chars().count() > 200 {
            return Err(DomainError::invalide("nom_longueur", "le nom a de 1 à 200 caractères"));
        }
        Ok(())
    }

    /// Rights of a request for an operation allowed by `scope`, narrowed to the mandate
    /// `mandat` when given. Narrowing to a mandate the editor does not hold is refused
    /// (`mandat_inconnu`); only editors have mandates. A mandate lends at most the scopes of its
    /// principal's kind ([`CibleMandat::prete`]): narrowed to one that does not lend `scope`,
    /// the request is refused (`scope_hors_mandat`); acting for all its principals at once, an
    /// editor's perimeter is the union of the mandates that lend `scope` only.
    pub fn droits(&self, mandat: Option<&CibleMandat>, scope: Scope) -> Result<Droits, DomainError> {
        let restreint = |communes: BTreeSet<CodeInsee>, uais: BTreeSet<Uai>| Perimetre::Restreint { communes, uais };
        if let Some(cible) = mandat {
            if !self.mandats.iter().any(|m| &m.cible == cible) {
                return Err(DomainError::invalide(
                    "mandat_inconnu",
                    format!("aucun mandat « {} » pour ce partenaire", cible.as_str()),
                ));
            }
            if !cible.prete(scope) {
                return Err(DomainError::invalide(
                    "scope_hors_mandat",
                    format!(
                        "un mandat d'une {} ne donne pas le scope {scope} (au plus : {})",
                        match cible.type_mandant() {
                            TypePartenaire::Mairie => "mairie",
                            _ => "école",
                        },
                        cible.type_mandant().scopes_possibles()
                    ),
                ));
            }
            let perimetre = match cible {
                CibleMandat::Commune(c) => restreint([c.clone()].into(), BTreeSet::new()),
                CibleMandat::Ecole(u) => restreint(BTreeSet::new(), [u.clone()].into()),
            };
            return Ok(Droits {
                perimetre,
                profil: cible.profil(),
                pour_le_compte_de: Some(cible.clone()),
            });
        }
        let (perimetre, profil) = match self.type_partenaire {
            TypePartenaire::Mairie | TypePartenaire::EcolePrivee => (
                restreint(self.communes.clone(), self.uais.clone()),
                ProfilDonnees::pour(self.type_partenaire),
            ),
            TypePartenaire::Editeur => {
                let mut communes = BTreeSet::new();
                let mut uais = BTreeSet::new();
                let pretant: Vec<&Mandat> = self.mandats.iter().filter(|m| m.cible.prete(scope)).collect();
                for m in &pretant {
                    match &m.cible {
                        CibleMandat::Commune(c) => communes.insert(c.clone()),
                        CibleMandat::Ecole(u) => uais.insert(u.clone()),
                    };
                }
                // Acting for all its principals at once, an editor gets only the fields every
                // one of them may read.
                let profil = pretant
                    .iter()
                    .map(|m| m.cible.profil())
                    .reduce(|a, b| a.intersection(&b))
                    .unwrap_or_else(|| ProfilDonnees::pour(TypePartenaire::Admin));
                (restreint(communes, uais), profil)
            }
            // The operations team reads reference data nationally and no pupil field.
            TypePartenaire::Admin => (Perimetre::National, ProfilDonnees::pour(TypePartenaire::Admin)),
        };
        Ok(Droits {
            perimetre,
            profil,
            pour_le_compte_de: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partenaire(t: TypePartenaire) -> Partenaire {
        Partenaire {
            id: Uuid::nil(),
            nom: "P".into(),
            type_partenaire: t,
            scopes: t.scopes_possibles(),
            communes: BTreeSet::new(),
            uais: BTreeSet::new(),
            mandats: Vec::new(),
            actif: true,
        }
    }

    #[test]
    fn scopes_en_liste() {
        let s = Scopes::parse_liste("inscriptions:read  ecoles:read").unwrap();
        assert_eq!(s.to_string(), "ecoles:read inscriptions:read");
        assert!(Scopes::parse_liste("ecoles:read ecoles:write").is_err());
        assert!(Scopes::parse_liste("").unwrap().est_vide());
    }

    #[test]
    fn invariants_du_partenaire() {
        let mut m = partenaire(TypePartenaire::Mairie);
        m.communes.insert(CodeInsee::parse("75056").unwrap());
        assert!(m.verifier().is_ok());
        m.scopes = Scopes::de(&[Scope::Admin]);
        assert_eq!(m.verifier().unwrap_err().code(), "scope_interdit");
        let mut m = partenaire(TypePartenaire::Mairie);
        m.uais.insert(Uai::parse("0750655E").unwrap());
        assert_eq!(m.verifier().unwrap_err().code(), "perimetre_incoherent");
    }

    #[test]
    fn droits_d_un_editeur() {
        let mut e = partenaire(TypePartenaire::Editeur);
        let commune = CibleMandat::Commune(CodeInsee::parse("69123").unwrap());
        let ecole = CibleMandat::Ecole(Uai::parse("0750655E").unwrap());
        e.mandats = vec![
            Mandat {
                cible: commune.clone(),
                libelle: None,
            },
            Mandat {
                cible: ecole.clone(),
                libelle: None,
            },
        ];
        let tous = e.droits(None, Scope::ElevesRead).unwrap();
        let Perimetre::Restreint { communes, uais } = &tous.perimetre else {
            panic!()
        };
        assert_eq!(communes.len(), 1);
        assert_eq!(uais.len(), 1);
        assert!(!tous.profil.lit(ChampEleve::LieuNaissance), "intersection des profils");
        let pour_ecole = e.droits(Some(&ecole), Scope::ElevesRead).unwrap();
        assert!(pour_ecole.profil.lit(ChampEleve::LieuNaissance));
        assert_eq!(pour_ecole.pour_le_compte_de, Some(ecole));
        let autre = CibleMandat::parse("13055").unwrap();
        assert_eq!(
            e.droits(Some(&autre), Scope::ElevesRead).unwrap_err().code(),
            "mandat_inconnu"
        );
        // A mairie cannot narrow to a mandate: it has none.
        assert!(partenaire(TypePartenaire::Mairie)
            .droits(Some(&commune), Scope::ElevesRead)
            .is_err());
    }

    #[test]
    fn un_mandat_prete_au_plus_les_scopes_de_son_mandant() {
        let mut e = partenaire(TypePartenaire::Editeur);
        let commune = CibleMandat::Commune(CodeInsee::parse("69123").unwrap());
        let ecole = CibleMandat::Ecole(Uai::parse("0750655E").unwrap());
        e.mandats = [&commune, &ecole]
            .into_iter()
            .map(|c| Mandat {
                cible: c.clone(),
                libelle: None,
            })
            .collect();
        // Under the commune's mandate: no pupil writing.
        let refus = e.droits(Some(&commune), Scope::ElevesWrite).unwrap_err();
        assert_eq!(refus.code(), "scope_hors_mandat");
        assert!(e.droits(Some(&commune), Scope::InscriptionsWrite).is_ok());
        assert!(e.droits(Some(&ecole), Scope::ElevesWrite).is_ok());
        // For all principals at once: pupils are written in the school's perimeter only.
        let ecriture = e.droits(None, Scope::ElevesWrite).unwrap();
        assert_eq!(
            ecriture.perimetre,
            Perimetre::Restreint {
                communes: BTreeSet::new(),
                uais: [Uai::parse("0750655E").unwrap()].into()
            }
        );
        let lecture = e.droits(None, Scope::ElevesRead).unwrap();
        let Perimetre::Restreint { communes, .. } = &lecture.perimetre else {
            panic!()
        };
        assert_eq!(communes.len(), 1);
    }

    #[test]
    fn cible_de_mandat_lue_depuis_l_en_tete() {
        assert!(matches!(CibleMandat::parse("0750655E").unwrap(), CibleMandat::Ecole(_)));
        assert!(matches!(CibleMandat::parse("2A004").unwrap(), CibleMandat::Commune(_)));
        assert!(CibleMandat::parse("n'importe").is_err());
    }
}
