//! The agent pool: signals that instances send about the topics they work on.

use serde::{Deserialize, Serialize};

use crate::{Project, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolAction {
    Claimed,
    Started,
    Progress,
    Completed,
    Blocked,
    Unblocked,
    Released,
    Handoff,
    Signaling,
}

impl PoolAction {
    pub const ALL: [PoolAction; 9] = [
        PoolAction::Claimed,
        PoolAction::Started,
        PoolAction::Progress,
        PoolAction::Completed,
        PoolAction::Blocked,
        PoolAction::Unblocked,
        PoolAction::Released,
        PoolAction::Handoff,
        PoolAction::Signaling,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            PoolAction::Claimed => "claimed",
            PoolAction::Started => "started",
            PoolAction::Progress => "progress",
            PoolAction::Completed => "completed",
            PoolAction::Blocked => "blocked",
            PoolAction::Unblocked => "unblocked",
            PoolAction::Released => "released",
            PoolAction::Handoff => "handoff",
            PoolAction::Signaling => "signaling",
        }
    }

    /// Parse an action; the error lists every allowed one.
    pub fn parse(raw: &str) -> Result<Self, crate::Error> {
        PoolAction::ALL
            .into_iter()
            .find(|a| a.as_str() == raw)
            .ok_or_else(|| {
                let allowed: Vec<&str> = PoolAction::ALL.iter().map(|a| a.as_str()).collect();
                crate::Error::invalid(format!(
                    "unknown pool action {raw:?}; allowed actions: {}",
                    allowed.join(", ")
                ))
            })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewPoolSignal {
    pub project: Project,
    pub topic: String,
    pub action: PoolAction,
    pub summary: String,
    pub affects: Vec<String>,
    pub instance: String,
    pub session_id: Option<String>,
    /// When the signal stops counting; `None` never expires.
    pub expires_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoolSignal {
    pub id: i64,
    pub project: Project,
    pub topic: String,
    pub action: PoolAction,
    pub summary: String,
    pub affects: Vec<String>,
    pub instance: String,
    pub session_id: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    /// `user@host` of the process that sent it; `None` before authors were kept.
    #[serde(default)]
    pub author: Option<String>,
}
