//! What leaves the gateway and its trace: views by data profile ([`vue`], the one exit of
//! personal data), the audit writer ([`auditeur`]), what a write says about a duplicate
//! ([`doublons`]).

pub mod auditeur;
pub mod doublons;
pub mod vue;
