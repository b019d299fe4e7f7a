//! `cairn store …` and the stores behind it through the real binary: copy, compact,
//! the payload dictionary, space, PostgreSQL as a user's store, the team store.
//!
//! Each file of this directory was a test binary of its own; now each is a module of
//! this one binary, compiled and linked once (issue 14). One file's tests:
//! `cargo test -p cairn --test store -- FILE::`.

#[path = "../sessions_fixtures/mod.rs"]
mod sessions_fixtures;

mod store_compact_cli;
mod store_copy_cli;
mod store_dictionary_cli;
mod store_postgres;
mod store_space_cli;
mod team_store;
