//! Test helpers shared by cairn's crates.
pub mod cli;
pub mod home;
pub mod fake_llm;
