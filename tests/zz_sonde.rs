#![allow(clippy::unwrap_used, clippy::expect_used)]
mod commun;
use commun::*;
#[test]
fn sonde() {
    for n in [300u32, 600, 1200] {
        let base = onde_store::testing::BaseDeTest::sqlite();
        let t = std::time::Instant::now();
        seeder(&base, n);
        let e = toutes_les_ecoles(&base);
        println!("{n}: {:?} {:?}", t.elapsed(), e.iter().map(|e| (e.uai.as_str().to_owned(), e.type_ecole, e.commune.as_str().to_owned())).collect::<Vec<_>>());
    }
    let t = std::time::Instant::now();
    let base = onde_store::testing::BaseDeTest::postgres();
    println!("pg base {:?}", t.elapsed());
    seeder(&base, 40);
    println!("pg seed {:?}", t.elapsed());
}
