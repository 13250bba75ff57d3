//! Identifier parsers: never panic on any input; every accepted value matches the pattern the
//! OpenAPI document publishes, reads back as itself, and parses again to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onde_domain::dossier::{Courriel, Telephone};
use onde_domain::{
    AnneeScolaire, CibleMandat, CodeInsee, Ine, LienResponsable, Niveau, Scope, Secteur, Sexe, StatutInscription,
    TypeEcole, TypePartenaire, Uai,
};

fn publie(motif: &str, valeur: &str, nom: &str) {
    let re = regex_lite::Regex::new(motif).expect("motif publié valide");
    assert!(re.is_match(valeur), "{nom} « {valeur} » accepté mais hors du motif publié {motif}");
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let s = s.as_ref();
    if let Ok(v) = Uai::parse(s) {
        assert_eq!(v.as_str(), s);
        publie(Uai::PATTERN, s, "UAI");
        assert_eq!(Uai::parse(v.as_str()).ok(), Some(v.clone()));
        assert_eq!(v.departement().len(), 3);
    }
    if let Ok(v) = Ine::parse(s) {
        assert_eq!(v.as_str(), s);
        publie(Ine::PATTERN, s, "INE");
        assert_eq!(Ine::parse(v.as_str()).ok(), Some(v.clone()));
    }
    if let Ok(v) = CodeInsee::parse(s) {
        assert_eq!(v.as_str(), s);
        publie(CodeInsee::PATTERN, s, "code INSEE");
        assert_eq!(CodeInsee::parse(v.as_str()).ok(), Some(v.clone()));
    }
    if let Ok(v) = AnneeScolaire::parse(s) {
        assert_eq!(v.to_string(), s);
        publie(AnneeScolaire::PATTERN, s, "année scolaire");
        assert_eq!(AnneeScolaire::parse(&v.to_string()).ok(), Some(v));
    }
    if let Ok(n) = Niveau::parse(s) {
        assert_eq!(Niveau::parse(n.as_str()).ok(), Some(n));
    }
    if let Ok(x) = Sexe::parse(s) {
        assert_eq!(Sexe::parse(x.as_str()).ok(), Some(x));
    }
    if let Ok(x) = StatutInscription::parse(s) {
        assert_eq!(x.as_str(), s);
    }
    if let Ok(x) = TypeEcole::parse(s) {
        assert_eq!(x.as_str(), s);
    }
    if let Ok(x) = Secteur::parse(s) {
        assert_eq!(x.as_str(), s);
    }
    if let Ok(x) = LienResponsable::parse(s) {
        assert_eq!(x.as_str(), s);
    }
    if let Ok(x) = Scope::parse(s) {
        assert_eq!(x.as_str(), s);
    }
    if let Ok(x) = TypePartenaire::parse(s) {
        assert_eq!(x.as_str(), s);
    }
    if let Ok(c) = CibleMandat::parse(s) {
        assert_eq!(c.as_str(), s);
    }
    if let Ok(t) = Telephone::parse(s) {
        assert!(Telephone::parse(t.as_str()).is_ok());
    }
    let _ = Courriel::parse(s);
});
