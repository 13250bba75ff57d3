//! Authentication and authorisation only: who is calling ([`acces::Acces`]), with which
//! token ([`jeton`], read from the request by [`porteur`]), and what each operation requires
//! ([`exigences`]).

pub mod acces;
pub mod cache_partenaires;
pub mod exigences;
pub mod jeton;
pub mod porteur;
