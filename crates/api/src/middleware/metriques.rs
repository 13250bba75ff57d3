//! `/metrics` in Prometheus' text format: per-route latency histograms and status counts, the
//! connection pool, the process (memory, CPU, descriptors), and each partner's activity
//! (requests, errors, pupil records read and written, last feed read) that the operations
//! team follows to see partners adopt the gateway. Labels carry routes (patterns, never raw
//! paths; every unmatched path is `(inconnue)`), methods (the standard ones, any other is
//! `AUTRE`), statuses and ids of authenticated partners: bounded sets, no personal data.

use std::sync::LazyLock;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};
use uuid::Uuid;

/// The partner a request was authenticated as (set by the admission middleware).
#[derive(Debug, Clone, Copy)]
pub struct PartenaireRequete(pub Uuid);

struct Metriques {
    registre: Registry,
    duree: HistogramVec,
    reponses: IntCounterVec,
    requetes_partenaire: IntCounterVec,
    erreurs_partenaire: IntCounterVec,
    lus: IntCounterVec,
    ecrits: IntCounterVec,
    synchro: IntGaugeVec,
    pool_connexions: IntGauge,
    pool_inactives: IntGauge,
    repli_limites: IntCounter,
}

fn compteur(registre: &Registry, nom: &str, aide: &str, etiquettes: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(nom, aide), etiquettes).unwrap_or_else(|e| panic!("métrique {nom} : {e}"));
    registre
        .register(Box::new(c.clone()))
        .unwrap_or_else(|e| panic!("métrique {nom} : {e}"));
    c
}

#[allow(clippy::expect_used)]
static METRIQUES: LazyLock<Metriques> = LazyLock::new(|| {
    let registre = Registry::new_custom(Some("onde".into()), None).expect("registre de métriques");
    #[cfg(target_os = "linux")]
    registre
        .register(Box::new(prometheus::process_collector::ProcessCollector::for_self()))
        .expect("métriques du processus");
    let duree = HistogramVec::new(
        HistogramOpts::new(
            "http_requete_duree_secondes",
            "Durée des requêtes, par route et méthode",
        )
        .buckets(vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ]),
        &["route", "methode"],
    )
    .expect("histogramme");
    registre.register(Box::new(duree.clone())).expect("histogramme");
    let jauge = |nom: &str, aide: &str| {
        let g = IntGauge::new(nom, aide).expect("jauge");
        registre.register(Box::new(g.clone())).expect("jauge");
        g
    };
    let synchro = IntGaugeVec::new(
        Opts::new(
            "partenaire_derniere_synchro_horodatage_secondes",
            "Dernière lecture du flux de changements par le partenaire (secondes Unix)",
        ),
        &["partenaire"],
    )
    .expect("jauge");
    registre.register(Box::new(synchro.clone())).expect("jauge");
    let repli_limites = IntCounter::new(
        "limites_repli_total",
        "Requêtes limitées par le nœud seul, faute de réponse à temps de Redis (limites partagées)",
    )
    .expect("compteur");
    registre.register(Box::new(repli_limites.clone())).expect("compteur");
    Metriques {
        reponses: compteur(
            &registre,
            "http_reponses_total",
            "Réponses, par route, méthode et statut",
            &["route", "methode", "statut"],
        ),
        requetes_partenaire: compteur(
            &registre,
            "partenaire_requetes_total",
            "Requêtes authentifiées, par partenaire",
            &["partenaire"],
        ),
        erreurs_partenaire: compteur(
            &registre,
            "partenaire_erreurs_total",
            "Réponses d'erreur (4xx, 5xx), par partenaire",
            &["partenaire"],
        ),
        lus: compteur(
            &registre,
            "partenaire_eleves_lus_total",
            "Dossiers d'élèves lus, par partenaire",
            &["partenaire"],
        ),
        ecrits: compteur(
            &registre,
            "partenaire_eleves_ecrits_total",
            "Dossiers d'élèves écrits, par partenaire",
            &["partenaire"],
        ),
        synchro,
        pool_connexions: jauge("pool_connexions_utilisees", "Connexions du pool en cours d'utilisation"),
        pool_inactives: jauge("pool_connexions_inactives", "Connexions inactives du pool"),
        duree,
        repli_limites,
        registre,
    }
});

/// Pupil records a partner read (`lecture`) or wrote, as the audit trail records them.
pub fn enregistrements(partenaire: Uuid, lecture: bool, nombre: usize) {
    let m = &*METRIQUES;
    let c = if lecture { &m.lus } else { &m.ecrits };
    c.with_label_values(&[&partenaire.to_string()]).inc_by(nombre as u64);
}

/// A request was charged to this node's own limits: the shared ones (Redis) did not answer.
pub fn repli_limites() {
    METRIQUES.repli_limites.inc();
}

/// The partner just read the change feed.
pub fn synchro(partenaire: Uuid) {
    METRIQUES
        .synchro
        .with_label_values(&[&partenaire.to_string()])
        .set(chrono::Utc::now().timestamp());
}

/// The method label: the standard methods, any other one is `AUTRE` (a client may send any
/// token as a method; labels stay a bounded set).
fn methode(m: &actix_web::http::Method) -> &'static str {
    match m.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        "TRACE" => "TRACE",
        "CONNECT" => "CONNECT",
        _ => "AUTRE",
    }
}

/// Times each request and counts its answer, by route pattern and, once authenticated, by
/// partner.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let debut = Instant::now();
    let methode = methode(req.method());
    let reponse = next.call(req).await?;
    let m = &*METRIQUES;
    let route = reponse.request().match_pattern().unwrap_or_else(|| "(inconnue)".into());
    let statut = reponse.status().as_u16();
    m.duree
        .with_label_values(&[&route, methode])
        .observe(debut.elapsed().as_secs_f64());
    m.reponses
        .with_label_values(&[&route, methode, &statut.to_string()])
        .inc();
    if let Some(PartenaireRequete(p)) = reponse.request().extensions().get::<PartenaireRequete>().copied() {
        let p = p.to_string();
        m.requetes_partenaire.with_label_values(&[&p]).inc();
        if statut >= 400 {
            m.erreurs_partenaire.with_label_values(&[&p]).inc();
        }
    }
    Ok(reponse)
}

/// The metrics in Prometheus' text format, the pool gauges set from `(connexions, inactives)`.
pub fn encoder(connexions: u32, inactives: u32) -> Result<Vec<u8>, prometheus::Error> {
    let m = &*METRIQUES;
    m.pool_connexions.set(i64::from(connexions));
    m.pool_inactives.set(i64::from(inactives));
    let mut tampon = Vec::new();
    TextEncoder::new().encode(&m.registre.gather(), &mut tampon)?;
    Ok(tampon)
}

#[cfg(test)]
mod tests {
    #[test]
    fn les_metriques_se_declarent_et_s_encodent() {
        super::enregistrements(uuid::Uuid::nil(), true, 3);
        super::synchro(uuid::Uuid::nil());
        let familles = super::METRIQUES.registre.gather();
        let noms: Vec<&str> = familles.iter().map(|f| f.name()).collect();
        assert!(noms.contains(&"onde_partenaire_eleves_lus_total"), "{noms:?}");
        assert!(
            noms.contains(&"onde_partenaire_derniere_synchro_horodatage_secondes"),
            "{noms:?}"
        );
    }
}
