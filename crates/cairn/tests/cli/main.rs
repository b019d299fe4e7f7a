//! The command line through the real binary, each test in a private `TestHome`:
//! sessions, import, config, doctor, pool and progress, hostile input, and what the
//! shipped binary is built from.
//!
//! Each file of this directory was a test binary of its own; now each is a module of
//! this one binary, compiled and linked once (issue 14). One file's tests:
//! `cargo test -p cairn --test cli -- FILE::`.

#[path = "../sessions_fixtures/mod.rs"]
mod sessions_fixtures;

mod config_cli;
mod docs_cli;
mod doctor_cli;
mod fork_rewind_cli;
mod hostile_input;
mod import_cli;
mod import_forks_cli;
mod pool_cli;
mod progress_cli;
mod progress_transfer_cli;
mod sessions_cli;
mod sessions_retention_cli;
mod shipped_dependencies;
mod shipped_size;
mod usage_cli;
