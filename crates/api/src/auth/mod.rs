//! Authentication and authorisation only: who is calling ([`acces::Acces`]), with which
//! token ([`jeton`]), and what each operation requires ([`exigences`]).

pub mod acces;
pub mod cache_partenaires;
pub mod exigences;
pub mod jeton;
