//! cairn-core: the domain of cairn with no knowledge of SQL, HTTP or terminals.
//!
//! Everything a face (CLI, MCP, daemon, chat agent) needs to talk about sessions,
//! events, checkpoints and the agent pool lives here, together with the [`Store`]
//! trait that the storage backends implement.

pub mod accounting;
pub mod agent_def;
pub mod ahead;
pub mod attachment;
pub mod author;
mod block_json;
pub mod body_codec;
pub mod checkpoint;
pub mod context;
pub mod display;
pub mod env_vars;
pub mod error;
pub mod event;
pub mod event_kinds;
pub mod import_origin;
pub mod json_kind;
pub mod jsonl;
pub mod knowledge;
pub mod lease;
pub mod lineage;
pub mod list_param;
pub mod live_messages;
pub mod local_token;
pub mod mcp_approvals;
pub mod mcp_server_def;
pub mod memory_settings;
pub mod name;
pub mod paths;
pub mod pool;
pub mod project;
pub mod project_key;
pub mod project_mcp;
pub mod scrub;
pub mod session;
pub mod settings;
pub mod store;
pub mod store_calls;
pub mod tokens;
pub mod tool_output;
pub mod usage;

pub use attachment::{Attachment, AttachmentGarbage, AttachmentRef};
pub use checkpoint::{Checkpoint, NewCheckpoint};
pub use context::LiveContext;
pub use error::{Error, Result};
pub use event::{
    Compaction, ContentBlock, Event, KnowledgeItem, KnowledgeKind, KnowledgeScope, MediaBlock,
    Message, NewEvent, Payload, Role,
};
pub use event_kinds::{
    CommandRecord, CompactionMethod, CompactionTotals, CompressionOutcome, CompressionRecord,
    ErrorRecord, HintRecord, RequestRecord, SubagentRecord,
};
pub use import_origin::{ImportOrigin, KnownImport};
pub use lease::{Lease, LeaseHolder};
pub use name::SessionName;
pub use pool::{NewPoolSignal, PoolAction, PoolSignal};
pub use project::Project;
pub use session::{NewSession, Session, SessionFilter, SessionStatus, SessionSummary};
pub use store::{SearchHit, SearchScope, Store, StoreChange};
pub use usage::Usage;

/// Timestamps everywhere in cairn are UTC instants.
pub type Timestamp = jiff::Timestamp;
