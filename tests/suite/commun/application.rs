//! The test application: a database copied from a seeded template, the app state over it and
//! the in-process actix service. `TestApp::sqlite().eleves(300).build()`, or one test per
//! backend with [`deux_backends!`].
#![allow(dead_code, unused_macros, clippy::unwrap_used, clippy::expect_used)]

use actix_web::test;
use onde_store::testing::BaseDeTest;
use onde_store::Backend;

use super::api;

/// What a test base holds: the deterministic seed (`graine` 7, rentrée [`super::RENTREE`]) of
/// `eleves` pupils over `communes` communes; with `publiques`, every school made public (the
/// write tests act as a mairie, which takes no workflow step in a private school under
/// contract; tests/suite/integrite.rs tests that rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Graine {
    pub eleves: u32,
    pub communes: u32,
    pub publiques: bool,
}

impl Graine {
    /// The template's key: everything [`Graine::semer`] does.
    fn cle(&self) -> String {
        format!(
            "seed graine=7 rentree={} eleves={} communes={} publiques={}",
            super::RENTREE,
            self.eleves,
            self.communes,
            self.publiques
        )
    }

    fn semer(&self, base: &BaseDeTest) {
        super::seeder_communes(base, self.eleves, self.communes);
        if self.publiques {
            use diesel::prelude::*;
            use onde_store::schema::ecoles;
            let mut c = base.store.connexion().unwrap();
            diesel::update(ecoles::table)
                .set(ecoles::secteur.eq("public"))
                .execute(&mut *c)
                .unwrap();
        }
    }
}

/// A test's database (its own copy; dropped with the value).
pub struct TestApp {
    pub base: BaseDeTest,
}

/// Chooses the backend and the seed of a [`TestApp`]; no seed: a fresh, empty, migrated base.
#[must_use]
pub struct ConstructeurTestApp {
    backend: Backend,
    graine: Option<Graine>,
}

impl TestApp {
    pub fn sqlite() -> ConstructeurTestApp {
        Self::sur(Backend::Sqlite)
    }

    pub fn postgres() -> ConstructeurTestApp {
        Self::sur(Backend::Postgres)
    }

    pub fn sur(backend: Backend) -> ConstructeurTestApp {
        ConstructeurTestApp { backend, graine: None }
    }

    /// The application state (see [`super::etat`]).
    pub fn etat(&self) -> api::EtatApp {
        super::etat(&self.base)
    }
}

impl ConstructeurTestApp {
    fn graine(&mut self) -> &mut Graine {
        self.graine.get_or_insert(Graine {
            eleves: 0,
            communes: 3,
            publiques: false,
        })
    }

    /// `n` seeded pupils (over 3 communes unless [`Self::communes`] says otherwise).
    pub fn eleves(mut self, n: u32) -> Self {
        self.graine().eleves = n;
        self
    }

    pub fn communes(mut self, n: u32) -> Self {
        self.graine().communes = n;
        self
    }

    /// The write tests' base: 1,500 pupils over five communes, every school public (see
    /// [`crate::ecritures::monde`]).
    pub fn ecritures(mut self) -> Self {
        self.graine = Some(Graine {
            eleves: 1500,
            communes: 5,
            publiques: true,
        });
        self
    }

    pub fn build(self) -> TestApp {
        let base = match self.graine {
            None => BaseDeTest::nouvelle(self.backend),
            // A copy of the seeded template of this shape (built once, see onde_store::testing).
            Some(g) => BaseDeTest::depuis_modele(self.backend, &g.cle(), |b| g.semer(b)),
        };
        TestApp { base }
    }
}

/// The real app in-process over `etat`.
pub async fn service(
    etat: api::EtatApp,
) -> impl actix_web::dev::Service<
    actix_http::Request,
    Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
    Error = actix_web::Error,
> {
    test::init_service(api::app(etat)).await
}

/// Declares one test per backend, each on a base of its own:
/// `deux_backends! { fn nom(base: eleves(300).communes(4)) { ... } }` gives `nom::sqlite` and
/// `nom::postgres`; what follows `base:` is a [`ConstructeurTestApp`] chain (nothing: a fresh,
/// empty base).
macro_rules! deux_backends {
    ($(fn $nom:ident($base:ident $(: $($graine:tt)+)?) $corps:block)*) => {
        $(
            mod $nom {
                #[allow(unused_imports)]
                use super::*;

                fn corps($base: &onde_store::testing::BaseDeTest) $corps

                #[::core::prelude::v1::test]
                fn sqlite() {
                    let t = $crate::commun::TestApp::sqlite() $(. $($graine)+)? .build();
                    corps(&t.base);
                }

                #[::core::prelude::v1::test]
                fn postgres() {
                    let t = $crate::commun::TestApp::postgres() $(. $($graine)+)? .build();
                    corps(&t.base);
                }
            }
        )*
    };
}
