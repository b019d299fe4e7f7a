//! Context compression through the engine: a real SQLite store in a temp dir, the
//! scripted fake LLM server for the chat model (and a second one for `[compression]
//! model`), the engine driven through its public API.

#[path = "../common/mod.rs"]
mod common;
mod support;

mod commands;
mod fallback;
mod in_turn;
mod interrupt;
mod knowledge;
mod pressure;
mod soak;
