//! Errors: `ApiError` ([`erreur`]), its HTTP answer ([`reponse`]), the problem types by status
//! ([`catalogue`]) and the RFC 9457 document ([`probleme`]).

pub mod catalogue;
pub mod erreur;
pub mod probleme;
pub mod reponse;
