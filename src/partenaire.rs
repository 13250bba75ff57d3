//! `onde-echanges partenaire …` and `onde-echanges cles tourner`: the administration CLI. It
//! calls the same service functions as the admin API (`onde_service::partenaires`), so a partner
//! created here obeys exactly the same rules.

use anyhow::Context;
use clap::Subcommand;
use onde_domain::{CibleMandat, TypePartenaire};
use onde_service::partenaires::{
    self, DemandeRotation, FichePartenaire, FiltrePartenaires, MandatDemande, NouveauPartenaire, ResumePartenaire,
};
use onde_service::ServiceError;
use uuid::Uuid;

use crate::options::OptionsBase;

#[derive(Subcommand)]
pub enum CommandePartenaire {
    /// Crée un partenaire et son client ; affiche le client_id et le secret, une seule fois.
    Creer {
        #[command(flatten)]
        base: OptionsBase,
        /// Nom affiché (1 à 200 caractères).
        #[arg(long)]
        nom: String,
        /// Type : mairie, ecole_privee, editeur ou admin.
        #[arg(long = "type", value_parser = ["mairie", "ecole_privee", "editeur", "admin"])]
        type_partenaire: String,
        /// Scopes séparés par des espaces (par défaut : tous ceux que le type permet).
        #[arg(long)]
        scopes: Option<String>,
        /// Commune d'une mairie (code INSEE) ; répétable.
        #[arg(long = "commune", value_name = "CODE_INSEE")]
        communes: Vec<String>,
        /// École d'une école privée (UAI) ; répétable.
        #[arg(long = "uai", value_name = "UAI")]
        uais: Vec<String>,
        /// Mandat d'un éditeur : code INSEE de la commune ou UAI de l'école mandante, suivi
        /// en option de =LIBELLÉ ; répétable.
        #[arg(long = "mandat", value_name = "CODE[=LIBELLÉ]")]
        mandats: Vec<String>,
        /// Crée le partenaire suspendu.
        #[arg(long)]
        inactif: bool,
        /// Sortie JSON (celle de l'API).
        #[arg(long)]
        json: bool,
    },
    /// Liste les partenaires, du plus ancien au plus récent.
    Lister {
        #[command(flatten)]
        base: OptionsBase,
        /// Seulement ce type.
        #[arg(long = "type", value_parser = ["mairie", "ecole_privee", "editeur", "admin"])]
        type_partenaire: Option<String>,
        /// Seulement les actifs (true) ou les suspendus et révoqués (false).
        #[arg(long)]
        actif: Option<bool>,
        #[arg(long)]
        json: bool,
    },
    /// Montre un partenaire, son périmètre et ses clients (jamais de secret).
    Montrer {
        #[command(flatten)]
        base: OptionsBase,
        /// Identifiant du partenaire.
        id: Uuid,
        #[arg(long)]
        json: bool,
    },
    /// Modifie un partenaire : seules les options données changent ; une option répétable
    /// donnée remplace toute la liste.
    Modifier {
        #[command(flatten)]
        base: OptionsBase,
        id: Uuid,
        #[arg(long)]
        nom: Option<String>,
        /// Scopes séparés par des espaces (remplacent les actuels).
        #[arg(long)]
        scopes: Option<String>,
        #[arg(long = "commune", value_name = "CODE_INSEE")]
        communes: Vec<String>,
        #[arg(long = "uai", value_name = "UAI")]
        uais: Vec<String>,
        #[arg(long = "mandat", value_name = "CODE[=LIBELLÉ]")]
        mandats: Vec<String>,
        /// false suspend le partenaire (ses jetons sont refusés), true le réactive.
        #[arg(long)]
        actif: Option<bool>,
        #[arg(long)]
        json: bool,
    },
    /// Donne un nouveau secret à un client du partenaire ; l'ancien reste accepté pendant le
    /// chevauchement.
    Secret {
        #[command(flatten)]
        base: OptionsBase,
        id: Uuid,
        /// Client visé, quand le partenaire en a plusieurs d'actifs.
        #[arg(long = "client")]
        client_id: Option<String>,
        /// Heures pendant lesquelles l'ancien secret reste accepté (0 : refusé dès maintenant).
        #[arg(long, env = "ONDE_CHEVAUCHEMENT_SECRET_HEURES", default_value_t = partenaires::CHEVAUCHEMENT_PAR_DEFAUT_HEURES)]
        chevauchement_heures: u32,
        #[arg(long)]
        json: bool,
    },
    /// Révoque définitivement le partenaire et tous ses clients.
    Revoquer {
        #[command(flatten)]
        base: OptionsBase,
        id: Uuid,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum CommandeCles {
    /// Une nouvelle clé signe les jetons ; la précédente vérifie encore ceux qu'elle a signés.
    /// La nouvelle clé est chiffrée par jetons.cle_chiffrement_fichier.
    Tourner {
        #[command(flatten)]
        base: crate::options::OptionsConfig,
    },
    /// Rechiffre toutes les clés de signature stockées avec la clé de chiffrement actuelle
    /// (jetons.cle_chiffrement_fichier) ; les précédentes
    /// (jetons.cles_chiffrement_precedentes_fichiers) doivent encore ouvrir ce qu'elles ont chiffré.
    Rechiffrer {
        #[command(flatten)]
        base: crate::options::OptionsConfig,
    },
}

/// A one-line error naming every violation (the binary prints errors on one line).
pub fn erreur(e: ServiceError) -> anyhow::Error {
    match &e {
        ServiceError::Parametres(v) | ServiceError::CorpsIllisible(v) | ServiceError::NonConforme(v)
            if !v.is_empty() =>
        {
            let details: Vec<String> = v
                .iter()
                .map(|v| {
                    let lieu = v
                        .pointer
                        .as_deref()
                        .map(option_de)
                        .or_else(|| v.parametre.as_ref().map(|p| format!("--{p}")));
                    match lieu {
                        Some(l) if !l.is_empty() => format!("{l} : {} [{}]", v.message, v.code),
                        _ => format!("{} [{}]", v.message, v.code),
                    }
                })
                .collect();
            anyhow::anyhow!("{}", details.join(" ; "))
        }
        ServiceError::Interne(detail) => anyhow::anyhow!("{detail}"),
        _ => anyhow::anyhow!("{e} [{}]", e.code()),
    }
}

/// The option a JSON pointer of the definition corresponds to: `/communes/1` -> `--commune n°2`.
fn option_de(pointeur: &str) -> String {
    let mut segments = pointeur.trim_start_matches('/').split('/');
    let champ = segments.next().unwrap_or("");
    let option = match champ {
        "communes" => "--commune",
        "uais" => "--uai",
        "mandats" => "--mandat",
        "scopes" => "--scopes",
        "nom" => "--nom",
        "type" => "--type",
        "actif" => "--actif",
        "client_id" => "--client",
        "chevauchement_heures" => "--chevauchement-heures",
        "" => return String::new(),
        autre => return autre.to_owned(),
    };
    match segments.next().and_then(|i| i.parse::<usize>().ok()) {
        Some(i) if champ != "scopes" => format!("{option} n°{}", i + 1),
        _ => option.to_owned(),
    }
}

/// `75056`, `0750655E`, or either followed by `=libellé`.
fn mandat(texte: &str) -> anyhow::Result<MandatDemande> {
    let (code, libelle) = match texte.split_once('=') {
        Some((c, l)) => (c.trim(), Some(l.trim().to_owned())),
        None => (texte.trim(), None),
    };
    let cible = CibleMandat::parse(code).map_err(|e| anyhow::anyhow!("--mandat « {code} » : {e}"))?;
    let genre = match cible {
        CibleMandat::Commune(_) => "commune",
        CibleMandat::Ecole(_) => "ecole",
    };
    Ok(MandatDemande {
        cible: partenaires::CibleDemande {
            genre: genre.into(),
            code: cible.as_str().to_owned(),
        },
        libelle,
    })
}

fn scopes(texte: &str) -> Vec<String> {
    texte.split_whitespace().map(str::to_owned).collect()
}

/// Prints a value as the API would send it.
fn json(valeur: serde_json::Result<serde_json::Value>) -> anyhow::Result<()> {
    println!(
        "{}",
        serde_json::to_string_pretty(&valeur.context("sérialisation JSON")?)?
    );
    Ok(())
}

fn maintenant() -> chrono::NaiveDateTime {
    onde_service::horloge::maintenant()
}

fn perimetre(p: &ResumePartenaire) -> String {
    let mut morceaux: Vec<String> = Vec::new();
    if !p.communes.is_empty() {
        morceaux.push(format!(
            "communes {}",
            p.communes.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    if !p.uais.is_empty() {
        morceaux.push(format!(
            "UAI {}",
            p.uais.iter().map(|u| u.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    if !p.mandats.is_empty() {
        morceaux.push(format!(
            "mandats {}",
            p.mandats
                .iter()
                .map(|m| m.cible.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if morceaux.is_empty() {
        "aucun périmètre".into()
    } else {
        morceaux.join(" ; ")
    }
}

fn afficher_fiche(f: &FichePartenaire) {
    let p = &f.partenaire;
    let etat = match (f.revoque, p.actif) {
        (true, _) => "révoqué",
        (false, true) => "actif",
        (false, false) => "suspendu",
    };
    println!("{} « {} »", p.id, p.nom);
    println!("  type       : {}", p.type_partenaire);
    println!("  état       : {etat} (version {})", p.version);
    println!(
        "  scopes     : {}",
        p.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
    );
    println!("  périmètre  : {}", perimetre(p));
    for m in &p.mandats {
        if let Some(l) = &m.libelle {
            println!("    mandat {} : {l}", m.cible.as_str());
        }
    }
    println!("  créé le    : {}", p.cree_le.format("%Y-%m-%d %H:%M:%S UTC"));
    println!("  modifié le : {}", p.modifie_le.format("%Y-%m-%d %H:%M:%S UTC"));
    for c in &f.clients {
        let mut ligne = format!(
            "  client     : {} (créé le {}",
            c.client_id,
            c.cree_le.format("%Y-%m-%d")
        );
        if let Some(r) = c.revoque_le {
            ligne.push_str(&format!(", révoqué le {}", r.format("%Y-%m-%d %H:%M")));
        }
        if let Some(j) = c.ancien_secret_valide_jusqua {
            ligne.push_str(&format!(
                ", ancien secret accepté jusqu'au {}",
                j.format("%Y-%m-%d %H:%M UTC")
            ));
        }
        ligne.push(')');
        println!("{ligne}");
    }
}

pub fn executer(commande: CommandePartenaire) -> anyhow::Result<()> {
    match commande {
        CommandePartenaire::Creer {
            base,
            nom,
            type_partenaire,
            scopes: liste,
            communes,
            uais,
            mandats,
            inactif,
            json: en_json,
        } => {
            let scopes = match liste {
                Some(s) => scopes(&s),
                None => {
                    let t = TypePartenaire::parse(&type_partenaire).map_err(|e| anyhow::anyhow!("--type : {e}"))?;
                    scopes(&t.scopes_possibles().to_string())
                }
            };
            let demande = NouveauPartenaire {
                nom,
                type_partenaire,
                scopes,
                communes,
                uais,
                mandats: mandats.iter().map(|m| mandat(m)).collect::<anyhow::Result<_>>()?,
                actif: !inactif,
            };
            let store = crate::options::ouvrir(&base)?;
            let mut conn = store.connexion()?;
            let cree = partenaires::creer(&mut conn, &demande, maintenant()).map_err(erreur)?;
            if en_json {
                return json(serde_json::to_value(&cree));
            }
            afficher_fiche(&cree.partenaire);
            println!();
            println!("client_id     : {}", cree.identifiants.client_id);
            println!("client_secret : {}", cree.identifiants.client_secret);
            println!("Conservez ce secret maintenant : il ne sera plus jamais affiché.");
            Ok(())
        }
        CommandePartenaire::Lister {
            base,
            type_partenaire,
            actif,
            json: en_json,
        } => {
            let filtre = FiltrePartenaires {
                type_partenaire: type_partenaire
                    .as_deref()
                    .map(TypePartenaire::parse)
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("--type : {e}"))?,
                actif,
            };
            let store = crate::options::ouvrir(&base)?;
            let liste = partenaires::lister_tout(&mut *store.connexion()?, &filtre).map_err(erreur)?;
            if en_json {
                return json(serde_json::to_value(&liste));
            }
            if liste.is_empty() {
                println!("aucun partenaire");
            }
            for p in &liste {
                println!(
                    "{}  {:<12}  {:<8}  {}  [{}]",
                    p.id,
                    p.type_partenaire.as_str(),
                    if p.actif { "actif" } else { "inactif" },
                    p.nom,
                    perimetre(p)
                );
            }
            Ok(())
        }
        CommandePartenaire::Montrer {
            base,
            id,
            json: en_json,
        } => {
            let store = crate::options::ouvrir(&base)?;
            let fiche = partenaires::montrer(&mut *store.connexion()?, id, maintenant()).map_err(erreur)?;
            if en_json {
                return json(serde_json::to_value(&fiche));
            }
            afficher_fiche(&fiche);
            Ok(())
        }
        CommandePartenaire::Modifier {
            base,
            id,
            nom,
            scopes: liste,
            communes,
            uais,
            mandats,
            actif,
            json: en_json,
        } => {
            // Only what was given changes: a JSON merge patch, as PATCH on the API.
            let mut patch = serde_json::Map::new();
            if let Some(n) = nom {
                patch.insert("nom".into(), n.into());
            }
            if let Some(s) = liste {
                patch.insert("scopes".into(), scopes(&s).into());
            }
            if !communes.is_empty() {
                patch.insert("communes".into(), communes.into());
            }
            if !uais.is_empty() {
                patch.insert("uais".into(), uais.into());
            }
            if !mandats.is_empty() {
                let m = mandats.iter().map(|m| mandat(m)).collect::<anyhow::Result<Vec<_>>>()?;
                patch.insert(
                    "mandats".into(),
                    serde_json::to_value(m).context("sérialisation des mandats")?,
                );
            }
            if let Some(a) = actif {
                patch.insert("actif".into(), a.into());
            }
            if patch.is_empty() {
                anyhow::bail!("rien à modifier : donnez au moins une option (--nom, --scopes, --commune, --uai, --mandat, --actif)");
            }
            let store = crate::options::ouvrir(&base)?;
            let fiche = partenaires::modifier_partiellement(
                &mut *store.connexion()?,
                id,
                &serde_json::Value::Object(patch),
                maintenant(),
            )
            .map_err(erreur)?;
            if en_json {
                return json(serde_json::to_value(&fiche));
            }
            afficher_fiche(&fiche);
            Ok(())
        }
        CommandePartenaire::Secret {
            base,
            id,
            client_id,
            chevauchement_heures,
            json: en_json,
        } => {
            let demande = DemandeRotation {
                client_id,
                chevauchement_heures: Some(chevauchement_heures),
            };
            let store = crate::options::ouvrir(&base)?;
            let secret =
                partenaires::tourner_secret(&mut *store.connexion()?, id, &demande, maintenant()).map_err(erreur)?;
            if en_json {
                return json(serde_json::to_value(&secret));
            }
            println!("client_id     : {}", secret.client_id);
            println!("client_secret : {}", secret.client_secret);
            match secret.ancien_secret_valide_jusqua {
                Some(j) => println!(
                    "L'ancien secret reste accepté jusqu'au {}.",
                    j.format("%Y-%m-%d %H:%M UTC")
                ),
                None => println!("L'ancien secret est refusé dès maintenant."),
            }
            println!("Conservez ce secret maintenant : il ne sera plus jamais affiché.");
            Ok(())
        }
        CommandePartenaire::Revoquer {
            base,
            id,
            json: en_json,
        } => {
            let store = crate::options::ouvrir(&base)?;
            let fiche = partenaires::revoquer(&mut *store.connexion()?, id, maintenant()).map_err(erreur)?;
            if en_json {
                return json(serde_json::to_value(&fiche));
            }
            afficher_fiche(&fiche);
            Ok(())
        }
    }
}

pub fn executer_cles(commande: CommandeCles) -> anyhow::Result<()> {
    match commande {
        CommandeCles::Tourner { base } => {
            let c = base.charger()?;
            let chiffrement = crate::options::chiffrement_requis(&c)?;
            let store = crate::options::ouvrir_config(&c)?;
            let cle = onde_service::cles::tourner_cles(&mut *store.connexion()?, &chiffrement).map_err(erreur)?;
            println!("nouvelle clé de signature : {}", cle.kid);
            println!("L'ancienne vérifie encore les jetons qu'elle a signés jusqu'à leur expiration.");
            Ok(())
        }
        CommandeCles::Rechiffrer { base } => {
            let c = base.charger()?;
            let chiffrement = crate::options::chiffrement_requis(&c)?;
            let store = crate::options::ouvrir_config(&c)?;
            let bilan = onde_service::cles::rechiffrer(&mut *store.connexion()?, &chiffrement).map_err(erreur)?;
            println!(
                "{} clé(s) de signature rechiffrée(s) avec la clé de chiffrement {}, {} déjà à jour",
                bilan.rechiffrees,
                chiffrement.actuelle().id(),
                bilan.a_jour
            );
            println!("Les clés de chiffrement précédentes peuvent maintenant être retirées de la configuration.");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_nommees_dans_les_erreurs() {
        assert_eq!(option_de("/communes/1"), "--commune n°2");
        assert_eq!(option_de("/scopes/0"), "--scopes");
        assert_eq!(option_de("/mandats/0/cible/code"), "--mandat n°1");
        assert_eq!(option_de(""), "");
    }

    #[test]
    fn mandats_en_ligne_de_commande() {
        let m = mandat("69123=Mairie de Lyon").unwrap();
        assert_eq!((m.cible.genre.as_str(), m.cible.code.as_str()), ("commune", "69123"));
        assert_eq!(m.libelle.as_deref(), Some("Mairie de Lyon"));
        let m = mandat("0750655E").unwrap();
        assert_eq!((m.cible.genre.as_str(), m.libelle), ("ecole", None));
        assert!(mandat("12").is_err());
    }
}
