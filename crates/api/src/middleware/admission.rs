//! Admission of an authenticated request, before its handler's extractors run. On an operation
//! that declares a security requirement ([`crate::auth::exigences`]), a bearer token is verified
//! here, once ([`verifier_jeton`]), and the verdict left in the request's extensions for the
//! [`crate::auth::acces::Acces`] extractor. A verified client is then charged its limits
//! ([`limites::admettre`]: rate bucket, the partner tag of the metrics, a place among its
//! requests in flight) before any database work; over them, the answer is 429 from here.
//!
//! A missing, malformed or refused token charges nothing and is answered 401 by the extractor,
//! so a refused token over its client's limit still gets 401, as an anonymous caller does.
//! Public operations (no requirement) and unknown routes pass untouched.
//!
//! The place in flight is held by the answer's body ([`AvecPlace`]) until the body is dropped:
//! sent to the end, or abandoned by a client gone. A streamed export thus holds it while its
//! chunks wait in the channel for the client, not only while they are produced.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{web, HttpMessage};
use uuid::Uuid;

use crate::auth::jeton::verifier_jeton;
use crate::auth::porteur::{jeton_porteur, JetonVerifie};
use crate::erreurs::erreur::ApiError;
use crate::etat::EtatApp;
use crate::middleware::limites;

pin_project_lite::pin_project! {
    /// A body that holds its request's place in flight (if any) until it is dropped.
    pub struct AvecPlace<B> {
        #[pin]
        corps: B,
        place: Option<Arc<limites::EnVol>>,
    }
}

impl<B: MessageBody> MessageBody for AvecPlace<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        self.corps.size()
    }

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        self.project().corps.poll_next(cx)
    }
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<AvecPlace<impl MessageBody>>>, actix_web::Error> {
    let mut place = None;
    let etat = req.app_data::<web::Data<EtatApp>>().cloned();
    let securisee = etat.as_ref().is_some_and(|etat| {
        req.match_pattern()
            .is_some_and(|route| etat.exigences.pour(req.method().as_str(), &route).is_some())
    });
    let jeton = match (securisee, etat) {
        (true, Some(etat)) => jeton_porteur(req.request()).ok().flatten().map(|j| (etat, j)),
        _ => None,
    };
    if let Some((etat, jeton)) = jeton {
        let verdict = verifier_jeton(&etat.trousseau, &etat.store, &jeton).await;
        if let Ok(rev) = &verdict {
            // The limits are keyed by the verified client: nobody spends another's budget.
            let sujet = Uuid::parse_str(&rev.sub).ok();
            match limites::admettre(&etat.limiteur, req.request(), sujet, &rev.client_id).await {
                Ok(en_vol) => {
                    place = Some(en_vol.clone());
                    req.extensions_mut().insert::<Arc<limites::EnVol>>(en_vol);
                }
                Err(depassement) => {
                    return Ok(req
                        .error_response(ApiError::TropDeRequetes(depassement))
                        .map_into_right_body());
                }
            }
        }
        req.extensions_mut().insert(JetonVerifie(verdict));
    }
    let reponse = next.call(req).await?;
    Ok(reponse.map_body(|_, corps| EitherBody::left(AvecPlace { corps, place })))
}
