//! The PostgreSQL backend: the store conformance suite against a throwaway
//! cluster (one fresh database per test), then what only PostgreSQL has
//! (migrations, other connections' notices, the URL and its password).

use std::sync::Arc;

use cairn_core::Store;
use cairn_store_conformance::Fixture;
use cairn_store_postgres::open_store;
use cairn_testkit::postgres::fresh_database;

/// A fresh store on its own database, for the conformance suite.
fn fresh() -> Fixture {
    let database = fresh_database();
    let url = database.url.clone();
    let store: Arc<dyn Store> = open_store(&url).unwrap();
    Fixture::new(store, move || open_store(&url).unwrap())
}

cairn_store_conformance::store_conformance_tests!(fresh);
