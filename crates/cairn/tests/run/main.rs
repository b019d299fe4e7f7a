//! `cairn run` through the real binary against the scripted fake provider: one-shot
//! runs, the REPL in a real terminal (tmux), compression, memory, sub-agents, Gemini,
//! token counting and cairn as an MCP client.
//!
//! Each file of this directory was a test binary of its own; now each is a module of
//! this one binary, compiled and linked once (issue 14). One file's tests:
//! `cargo test -p cairn --test run -- FILE::`.

#[path = "../sessions_fixtures/mod.rs"]
mod sessions_fixtures;

mod repl_tmux;
mod run_compression;
mod run_e2e;
mod run_gemini;
mod run_mcp_client;
mod run_memory;
mod run_subagents;
mod run_tokenizer;
