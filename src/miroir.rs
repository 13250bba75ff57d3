//! `miroir`: the reference client of the change feed. Keeps a local SQLite copy of what a
//! partner sees (schools, pupils with their guardians, inscriptions, guardians), first from the
//! lists, then from `GET /v1/changements` alone, each page applied in one local transaction
//! together with its cursor, so that a stopped mirror resumes exactly where it was.
//!
//! Local tables hold each resource's JSON as the gateway shows it (`json_extract` reads it):
//! `ecoles(uai)`, `eleves(id)`, `inscriptions(id)`, `responsables(id)`, and `miroir_etat`.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use base64::Engine;
use clap::Args;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel::sqlite::SqliteConnection;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

#[derive(Args)]
pub struct CommandeMiroir {
    /// Adresse de la passerelle (ex. https://echanges.example.fr).
    #[arg(long)]
    url: String,
    /// Identifiant client OAuth du partenaire.
    #[arg(long, env = "ONDE_CLIENT_ID")]
    client_id: String,
    /// Secret client (ou variable ONDE_CLIENT_SECRET ; jamais affiché).
    #[arg(long, env = "ONDE_CLIENT_SECRET", hide_env_values = true)]
    secret: String,
    /// Fichier SQLite du miroir (créé au premier lancement).
    #[arg(long)]
    vers: std::path::PathBuf,
    /// Se met à jour puis s'arrête (sinon : suit le flux sans fin).
    #[arg(long)]
    une_fois: bool,
    /// Pause entre deux lectures quand le miroir est à jour, en secondes.
    #[arg(long, default_value_t = 30)]
    intervalle: u64,
    /// Événements par page du flux (1 à 1000).
    #[arg(long, default_value_t = 1000)]
    limit: u32,
}

const SCHEMA: &str = "
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    CREATE TABLE IF NOT EXISTS ecoles (uai TEXT PRIMARY KEY, donnees TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS eleves (id TEXT PRIMARY KEY, donnees TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS inscriptions (id TEXT PRIMARY KEY, donnees TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS responsables (id TEXT PRIMARY KEY, donnees TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS miroir_etat (cle TEXT PRIMARY KEY, valeur TEXT NOT NULL);
";

/// The local table and key column of a feed resource.
fn table(ressource: &str) -> anyhow::Result<(&'static str, &'static str)> {
    Ok(match ressource {
        "ecole" => ("ecoles", "uai"),
        "eleve" => ("eleves", "id"),
        "inscription" => ("inscriptions", "id"),
        "responsable" => ("responsables", "id"),
        autre => bail!("ressource inconnue dans le flux : {autre}"),
    })
}

/// The feed answered 410: the mirror's cursor precedes the feed's purge (retention), so the
/// changes since are partly gone and only a new snapshot makes the copy exact again.
#[derive(Debug)]
struct CurseurExpire(String);

impl std::fmt::Display for CurseurExpire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "curseur expiré : {}", self.0)
    }
}

impl std::error::Error for CurseurExpire {}

struct Client {
    agent: ureq::Agent,
    url: String,
    client_id: String,
    secret: String,
    jeton: Option<(String, Instant)>,
    scopes: Vec<String>,
}

impl Client {
    fn jeton(&mut self) -> anyhow::Result<String> {
        if let Some((j, fin)) = &self.jeton {
            if Instant::now() < *fin {
                return Ok(j.clone());
            }
        }
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", self.client_id, self.secret));
        let mut r = self
            .agent
            .post(&format!("{}/oauth/token", self.url))
            .header("Authorization", &format!("Basic {basic}"))
            .send_form([("grant_type", "client_credentials")])
            .context("demande de jeton")?;
        let statut = r.status().as_u16();
        let corps: Value = r.body_mut().read_json().context("réponse du jeton illisible")?;
        if statut != 200 {
            bail!(
                "jeton refusé ({statut}) : {}",
                corps["error_description"].as_str().unwrap_or("?")
            );
        }
        let jeton = corps["access_token"]
            .as_str()
            .context("access_token absent")?
            .to_owned();
        let duree = corps["expires_in"].as_u64().unwrap_or(60);
        self.scopes = corps["scope"]
            .as_str()
            .unwrap_or_default()
            .split(' ')
            .map(String::from)
            .collect();
        // Renewed a little before it expires.
        let fin = Instant::now() + Duration::from_secs(duree.saturating_sub(30).max(1));
        self.jeton = Some((jeton.clone(), fin));
        Ok(jeton)
    }

    /// GET a path (with its query) of the API; a 401 renews the token once.
    fn lire(&mut self, chemin: &str) -> anyhow::Result<Value> {
        for essai in 0..2 {
            let jeton = self.jeton()?;
            let mut r = self
                .agent
                .get(&format!("{}{chemin}", self.url))
                .header("Authorization", &format!("Bearer {jeton}"))
                .call()
                .with_context(|| format!("GET {}", chemin.split('?').next().unwrap_or(chemin)))?;
            let statut = r.status().as_u16();
            if statut == 401 && essai == 0 {
                self.jeton = None;
                continue;
            }
            let corps: Value = r.body_mut().read_json().context("réponse illisible")?;
            if statut == 410 {
                return Err(CurseurExpire(corps["detail"].as_str().unwrap_or_default().to_owned()).into());
            }
            if statut != 200 {
                bail!(
                    "{} : {statut} {}",
                    chemin.split('?').next().unwrap_or(chemin),
                    corps["detail"].as_str().unwrap_or_default()
                );
            }
            return Ok(corps);
        }
        bail!("jeton refusé deux fois")
    }

    fn a(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

fn etat(conn: &mut SqliteConnection, cle: &str) -> anyhow::Result<Option<String>> {
    #[derive(QueryableByName)]
    struct Valeur {
        #[diesel(sql_type = Text)]
        valeur: String,
    }
    Ok(diesel::sql_query("SELECT valeur FROM miroir_etat WHERE cle = ?")
        .bind::<Text, _>(cle)
        .get_result::<Valeur>(conn)
        .optional()?
        .map(|v| v.valeur))
}

fn poser(conn: &mut SqliteConnection, cle: &str, valeur: &str) -> anyhow::Result<()> {
    diesel::sql_query(
        "INSERT INTO miroir_etat (cle, valeur) VALUES (?, ?) ON CONFLICT (cle) DO UPDATE SET valeur = excluded.valeur",
    )
    .bind::<Text, _>(cle)
    .bind::<Text, _>(valeur)
    .execute(conn)?;
    Ok(())
}

fn ecrire(conn: &mut SqliteConnection, ressource: &str, id: &str, donnees: &Value) -> anyhow::Result<()> {
    let (t, k) = table(ressource)?;
    diesel::sql_query(format!(
        "INSERT INTO {t} ({k}, donnees) VALUES (?, ?) ON CONFLICT ({k}) DO UPDATE SET donnees = excluded.donnees"
    ))
    .bind::<Text, _>(id)
    .bind::<Text, _>(donnees.to_string())
    .execute(conn)?;
    Ok(())
}

fn retirer(conn: &mut SqliteConnection, ressource: &str, id: &str) -> anyhow::Result<()> {
    let (t, k) = table(ressource)?;
    diesel::sql_query(format!("DELETE FROM {t} WHERE {k} = ?"))
        .bind::<Text, _>(id)
        .execute(conn)?;
    Ok(())
}

/// Every element of a paginated list.
fn liste(client: &mut Client, chemin: &str, mut chaque: impl FnMut(Value) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let mut suivant = Some(format!("{chemin}?limit=1000"));
    while let Some(c) = suivant.take() {
        let page = client.lire(&c)?;
        for e in page["elements"].as_array().context("page sans elements")? {
            chaque(e.clone())?;
        }
        suivant = page["lien_suivant"].as_str().map(String::from);
    }
    Ok(())
}

/// First run, or after a 410: the cursor of "now", then the lists, stored with it in one
/// transaction that first empties the local tables (a re-snapshot drops what is gone).
fn instantane(client: &mut Client, conn: &mut SqliteConnection, barre: &ProgressBar) -> anyhow::Result<()> {
    let debut = client.lire("/v1/changements")?;
    let curseur = debut["curseur_suivant"].as_str().context("curseur absent")?.to_owned();
    let mut lignes: Vec<(&'static str, String, Value)> = Vec::new();
    if client.a("ecoles:read") {
        liste(client, "/v1/ecoles", |e| {
            lignes.push(("ecole", e["uai"].as_str().unwrap_or_default().to_owned(), e));
            Ok(())
        })?;
    }
    if client.a("eleves:read") {
        // Guardians as the feed shows them: their fields and the pupils seen through.
        let mut responsables: std::collections::BTreeMap<String, Value> = Default::default();
        liste(client, "/v1/eleves", |e| {
            let id = e["id"].as_str().unwrap_or_default().to_owned();
            for r in e["responsables"].as_array().into_iter().flatten() {
                let rid = r["id"].as_str().unwrap_or_default().to_owned();
                let entree = responsables.entry(rid.clone()).or_insert_with(|| {
                    let mut v = serde_json::json!({"id": rid, "nom": r["nom"], "prenom": r["prenom"], "eleves": []});
                    for champ in ["telephone", "courriel", "adresse"] {
                        if let Some(x) = r.get(champ) {
                            v[champ] = x.clone();
                        }
                    }
                    v
                });
                if let Some(eleves) = entree["eleves"].as_array_mut() {
                    eleves.push(Value::String(id.clone()));
                }
            }
            lignes.push(("eleve", id, e));
            barre.set_message(format!("instantané : {} lignes", lignes.len()));
            Ok(())
        })?;
        lignes.extend(responsables.into_iter().map(|(id, v)| ("responsable", id, v)));
    }
    if client.a("inscriptions:read") {
        liste(client, "/v1/inscriptions", |e| {
            lignes.push(("inscription", e["id"].as_str().unwrap_or_default().to_owned(), e));
            Ok(())
        })?;
    }
    let n = lignes.len();
    conn.transaction(|c| -> anyhow::Result<()> {
        c.batch_execute("DELETE FROM ecoles; DELETE FROM eleves; DELETE FROM inscriptions; DELETE FROM responsables;")?;
        for (r, id, v) in &lignes {
            ecrire(c, r, id, v)?;
        }
        poser(c, "curseur", &curseur)?;
        poser(c, "url", &client.url)?;
        Ok(())
    })?;
    barre.println(format!("instantané : {n} lignes"));
    Ok(())
}

/// Applies feed pages until up to date; returns the events applied.
fn suivre(client: &mut Client, conn: &mut SqliteConnection, limit: u32, barre: &ProgressBar) -> anyhow::Result<u64> {
    let mut appliques = 0u64;
    loop {
        let curseur = etat(conn, "curseur")?.context("miroir sans curseur")?;
        let page = client.lire(&format!("/v1/changements?limit={limit}&depuis={curseur}"))?;
        let elements = page["elements"].as_array().context("page sans elements")?;
        let suivant = page["curseur_suivant"].as_str().context("curseur_suivant absent")?;
        conn.transaction(|c| -> anyhow::Result<()> {
            for e in elements {
                let ressource = e["ressource"].as_str().context("ressource absente")?;
                let id = e["id"].as_str().context("id absent")?;
                // A key change re-keys the row: the old key goes.
                if let (Some(ancienne), "ecole") = (e["ancienne_cle"].as_str(), ressource) {
                    retirer(c, ressource, ancienne)?;
                }
                match e.get("donnees") {
                    Some(d) if !d.is_null() => ecrire(c, ressource, id, d)?,
                    _ => retirer(c, ressource, id)?,
                }
            }
            poser(c, "curseur", suivant)?;
            Ok(())
        })?;
        appliques += elements.len() as u64;
        barre.set_message(format!("{appliques} changements appliqués"));
        if page["a_jour"] == true {
            return Ok(appliques);
        }
    }
}

pub fn executer(c: CommandeMiroir) -> anyhow::Result<()> {
    if !(1..=1000).contains(&c.limit) {
        bail!("--limit est entre 1 et 1000");
    }
    let url = c.url.trim_end_matches('/').to_owned();
    let mut conn = SqliteConnection::establish(&c.vers.to_string_lossy())
        .with_context(|| format!("miroir {}", c.vers.display()))?;
    conn.batch_execute(SCHEMA)?;
    if let Some(autre) = etat(&mut conn, "url")?.filter(|u| *u != url) {
        bail!("{} est le miroir de {autre}, pas de {url}", c.vers.display());
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into();
    let mut client = Client {
        agent,
        url,
        client_id: c.client_id,
        secret: c.secret,
        jeton: None,
        scopes: Vec::new(),
    };
    client.jeton()?;
    let barre = ProgressBar::new_spinner();
    barre.set_style(
        ProgressStyle::with_template("{spinner} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    barre.enable_steady_tick(Duration::from_millis(200));
    if etat(&mut conn, "curseur")?.is_none() {
        instantane(&mut client, &mut conn, &barre)?;
    }
    loop {
        let n = match suivre(&mut client, &mut conn, c.limit, &barre) {
            Err(e) if e.downcast_ref::<CurseurExpire>().is_some() => {
                barre.println(format!("{e}\nnouvel instantané"));
                instantane(&mut client, &mut conn, &barre)?;
                continue;
            }
            r => r?,
        };
        if c.une_fois {
            barre.finish_and_clear();
            println!("miroir à jour : {n} changements appliqués");
            return Ok(());
        }
        std::thread::sleep(Duration::from_secs(c.intervalle));
    }
}
