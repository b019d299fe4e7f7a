//! The one place this backend asks what an event adds to its session's totals.
//!
//! TRANSITIONAL: the `events` branch moves this decision into
//! `cairn_core::accounting` (`effect` + `TotalsDelta`); this module mirrors that
//! API for the code on main until it lands, and is then replaced by a re-export.
//! `events.rs` only stores what `charge` returns.

use cairn_core::{Error, Payload, Timestamp, Usage};
use serde_json::{Map, Value};

const MAX_TOKENS_PER_REQUEST: u64 = 1_000_000_000_000;

/// What one event adds to its session, and what the backend must remember.
#[derive(Default)]
pub(crate) struct EventEffect {
    pub messages: u64,
    pub tool_calls: u64,
    pub compactions: u64,
    pub context_start: Option<u64>,
    pub usage: Usage,
    pub cost_usd: f64,
    pub new_request_id: Option<String>,
    pub knowledge: Option<(String, bool)>,
}

/// What a batch of events adds to its session's row.
#[derive(Default)]
pub(crate) struct TotalsDelta {
    pub usage: Usage,
    pub cost_usd: f64,
    pub messages: u64,
    pub tool_calls: u64,
    pub compactions: u64,
    pub compaction: Option<(u64, u64)>,
    pub head_seq: u64,
    pub last_ts: Option<Timestamp>,
}

impl TotalsDelta {
    pub(crate) fn add(&mut self, seq: u64, ts: Timestamp, effect: &EventEffect) {
        self.usage.add(&effect.usage);
        self.cost_usd += effect.cost_usd;
        self.messages += effect.messages;
        self.tool_calls += effect.tool_calls;
        self.compactions += effect.compactions;
        if let Some(start) = effect.context_start {
            self.compaction = Some((seq, start));
        }
        self.head_seq = seq;
        self.last_ts = Some(ts);
    }
}

/// The effect of the event at `seq`; `seen` tells whether the session already
/// counted a provider request id.
pub(crate) fn effect(
    seq: u64,
    payload: &Payload,
    seen: impl FnOnce(&str) -> bool,
) -> Result<EventEffect, Error> {
    let mut effect = EventEffect::default();
    let (usage, cost, request_id) = match payload {
        Payload::Message(message) => {
            effect.messages = 1;
            effect.tool_calls = message.tool_uses().count() as u64;
            (
                message.usage,
                message.cost_usd,
                message.request_id.as_deref(),
            )
        }
        Payload::Compaction(compaction) => {
            let [first, last] = compaction.replaces;
            if first == 0 || first > last || last >= seq {
                return Err(Error::invalid(format!(
                    "event seq {seq}: compaction field \"replaces\" must be [first, last] with \
                     1 <= first <= last < {seq} (the compaction's own seq); got [{first}, {last}]"
                )));
            }
            effect.compactions = 1;
            effect.context_start = Some(last + 1);
            untyped(seq, &compaction.extra)?
        }
        Payload::Knowledge(item) => {
            effect.knowledge = Some((item.knowledge_kind.as_str().to_owned(), item.pinned));
            (None, None, None)
        }
        Payload::Other { fields, .. } => untyped(seq, fields)?,
    };
    if usage.is_none() && cost.is_none() {
        return Ok(effect);
    }
    let cost = cost.unwrap_or(0.0);
    if !cost.is_finite() {
        return Err(Error::invalid(format!(
            "event seq {seq}: field \"cost_usd\" must be a finite number"
        )));
    }
    if let Some(usage) = &usage {
        for (field, value) in [
            ("input_tokens", usage.input_tokens),
            ("output_tokens", usage.output_tokens),
            ("cache_read_tokens", usage.cache_read_tokens),
            ("cache_write_tokens", usage.cache_write_tokens),
            ("reasoning_tokens", usage.reasoning_tokens),
        ] {
            if value > MAX_TOKENS_PER_REQUEST {
                return Err(Error::invalid(format!(
                    "event seq {seq}: usage field \"{field}\" is {value}, more than the \
                     {MAX_TOKENS_PER_REQUEST} tokens one request can use"
                )));
            }
        }
    }
    if let Some(id) = request_id {
        if seen(id) {
            return Ok(effect);
        }
        effect.new_request_id = Some(id.to_owned());
    }
    effect.usage = usage.unwrap_or_default();
    effect.cost_usd = cost;
    Ok(effect)
}

/// The usage, cost and provider request id an event records.
type Charge<'a> = (Option<Usage>, Option<f64>, Option<&'a str>);

fn untyped(seq: u64, fields: &Map<String, Value>) -> Result<Charge<'_>, Error> {
    let usage = match fields.get("usage") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            serde_json::from_value::<Usage>(value.clone())
                .map_err(|e| Error::invalid(format!("event seq {seq}: field \"usage\": {e}")))?,
        ),
    };
    let cost = match fields.get("cost_usd") {
        None | Some(Value::Null) => None,
        Some(value) => Some(value.as_f64().filter(|c| c.is_finite()).ok_or_else(|| {
            Error::invalid(format!(
                "event seq {seq}: field \"cost_usd\" must be a finite number"
            ))
        })?),
    };
    Ok((
        usage,
        cost,
        fields.get("request_id").and_then(Value::as_str),
    ))
}
