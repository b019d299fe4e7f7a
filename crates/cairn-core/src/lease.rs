//! One writer per chat session.

use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::Timestamp;

/// Who holds a lease: `pid@host`, plus a random token so that a restarted process
/// with a recycled pid is not mistaken for the holder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseHolder {
    pub pid: u32,
    pub host: String,
    pub token: String,
}

impl LeaseHolder {
    pub fn describe(&self) -> String {
        format!("pid {}@{}", self.pid, self.host)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub session_id: Ulid,
    pub holder: LeaseHolder,
    pub acquired_at: Timestamp,
    pub heartbeat_at: Timestamp,
}
