//! In-process TLS (rustls, ring provider): the certificate chain and private key in PEM files
//! named by `serveur.tls_certificat` and `serveur.tls_cle`. Behind a reverse proxy that
//! terminates TLS, leave both unset (deploy/nginx).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub fn config(certificat: &Path, cle: &Path) -> anyhow::Result<rustls::ServerConfig> {
    let chaine: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(certificat)
        .with_context(|| format!("serveur.tls_certificat : {}", certificat.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| {
            format!(
                "serveur.tls_certificat : {} n'est pas un PEM de certificats",
                certificat.display()
            )
        })?;
    if chaine.is_empty() {
        anyhow::bail!(
            "serveur.tls_certificat : aucun certificat dans {}",
            certificat.display()
        );
    }
    let cle = PrivateKeyDer::from_pem_file(cle)
        .with_context(|| format!("serveur.tls_cle : {} n'est pas une clé privée PEM", cle.display()))?;
    let mut c = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .context("TLS : versions de protocole")?
        .with_no_client_auth()
        .with_single_cert(chaine, cle)
        .context("TLS : le certificat et la clé ne vont pas ensemble")?;
    c.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(c)
}
