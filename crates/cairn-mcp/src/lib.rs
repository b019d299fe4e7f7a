//! cairn's MCP face: durable checkpoints (`save_progress`, `get_progress`,
//! `where_was_i`), the agent pool (`pool_signal`, `pool_status`) and session
//! listing/search, as MCP tools, resources and a `resume` prompt over one store.
//!
//! [`CairnMcpFactory`] makes one handler per connection; [`serve_stdio`] and
//! [`http::serve_http`] put it on a transport, and [`http::router`] is what
//! `cairn serve` mounts at `/mcp`.

mod handler;
pub mod http;
pub mod http_serve;
mod http_sessions;
mod refusal;
mod resources;
mod roots;
mod schemas;
mod stdio;

pub use handler::{CairnMcp, CairnMcpFactory, McpConfig};
pub use stdio::{serve_on, serve_stdio};
