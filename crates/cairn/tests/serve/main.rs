//! `cairn serve` and `cairn acp` through the real binary: ACP over stdio and over
//! the daemon's WebSocket (with the official Python SDK), the HTTP API, the dashboard
//! in a browser, load and safety limits.
//!
//! Each file of this directory was a test binary of its own; now each is a module of
//! this one binary, compiled and linked once (issue 14). One file's tests:
//! `cargo test -p cairn --test serve -- FILE::`.

#[path = "../sessions_fixtures/mod.rs"]
mod sessions_fixtures;

mod acp_python;
mod acp_stdio;
mod dashboard_browser;
mod serve_acp;
mod serve_api;
mod serve_daemon;
mod serve_load;
mod serve_safety;
