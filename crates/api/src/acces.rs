//! Who is calling and what they may see, resolved once per request by an extractor. Handlers
//! take an [`Acces`] and hand its perimeter to the store; they never check rights themselves.
//!
//! The foundation serves the national perimeter to every caller; partners, scoped tokens and
//! their perimeters plug in here without touching the handlers.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use onde_domain::Perimetre;

use crate::ApiError;

#[derive(Debug, Clone)]
pub struct Acces {
    pub perimetre: Perimetre,
}

impl FromRequest for Acces {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(_req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(Ok(Acces {
            perimetre: Perimetre::National,
        }))
    }
}
