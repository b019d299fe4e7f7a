//! Engine tests: a real SQLite store in a temp dir, the scripted fake LLM server, and
//! the engine driven through its public API (input in, events out).

#[path = "../common/mod.rs"]
mod common;
mod support;

mod commands;
mod conversation;
mod faults;
mod fork_rewind;
mod leases;
mod named_agents;
mod spending;
mod subagents;
mod tools;
mod video;
