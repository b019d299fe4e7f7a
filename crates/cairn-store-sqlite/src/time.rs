//! Timestamps in the store. Event times are kept as exact RFC 3339 text (imports
//! must round-trip to the nanosecond); times cairn creates itself are truncated to
//! microseconds and kept as integers so they sort and compare cheaply.

use cairn_core::Timestamp;

use crate::fail::{R, unreadable};

/// Now, truncated to the microsecond so it survives a round trip through an integer.
pub(crate) fn now() -> Timestamp {
    let now = Timestamp::now();
    Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now)
}

pub(crate) fn micros(ts: Timestamp) -> i64 {
    ts.as_microsecond()
}

pub(crate) fn from_micros(us: i64) -> R<Timestamp> {
    Timestamp::from_microsecond(us).map_err(|e| unreadable(format!("time {us}: {e}")))
}

pub(crate) fn parse(text: &str) -> R<Timestamp> {
    text.parse::<Timestamp>()
        .map_err(|e| unreadable(format!("time {text:?}: {e}")))
}
