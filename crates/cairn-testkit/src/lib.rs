//! Test helpers shared by cairn's crates.
pub mod chat_text;
pub mod cli;
pub mod external;
pub mod fake_llm;
pub mod home;
pub mod mcp_http;
pub mod postgres;
pub mod serve;
pub mod store_bodies;
