//! What an event adds to its session's running totals, decided here once for every
//! storage backend: a backend stores the event, the rows and the figures this module
//! computes, and nothing else.
//!
//! A provider request (a message's, a compaction's compressor request, a compression
//! whose answer was not applied, or any event of an unknown kind carrying `usage` or
//! `cost_usd`) is counted once per provider request id, however many events carry it;
//! usage and cost are checked before they reach the totals.

use serde_json::{Map, Value};

use crate::event_kinds::RequestRecord;
use crate::{Error, KnowledgeKind, KnowledgeScope, Payload, Session, Timestamp, Usage};

/// Per-request token counts beyond this are refused: they can only come from a
/// broken or hostile file, and would overflow the session's totals.
pub const MAX_TOKENS_PER_REQUEST: u64 = 1_000_000_000_000;

/// The index row a knowledge event gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnowledgeRow {
    pub kind: KnowledgeKind,
    pub pinned: bool,
    /// Scope `project`: part of the project's knowledge (`Store::project_knowledge`
    /// finds these rows without reading the session's other knowledge events).
    pub project_wide: bool,
}

/// What one event adds to its session, and what the backend must remember.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventEffect {
    pub messages: u64,
    pub tool_calls: u64,
    pub compactions: u64,
    /// The first live seq after a compaction (its `replaces` end plus one).
    pub context_start: Option<u64>,
    /// Usage and cost counted now (zero when the request was counted before).
    pub usage: Usage,
    pub cost_usd: f64,
    /// A provider request id seen for the first time: the backend remembers it, so a
    /// later event carrying it is not counted again.
    pub new_request_id: Option<String>,
    pub knowledge: Option<KnowledgeRow>,
}

/// The effect of the event at `seq` with `payload`. `seen(request_id)` tells whether
/// the session already counted that provider request (the backend's memory of
/// [`EventEffect::new_request_id`], earlier events of the same batch included).
pub fn effect<E: From<Error>>(
    seq: u64,
    payload: &Payload,
    seen: impl FnOnce(&str) -> Result<bool, E>,
) -> Result<EventEffect, E> {
    let mut effect = EventEffect::default();
    let request = match payload {
        Payload::Message(message) => {
            effect.messages = 1;
            effect.tool_calls = message.tool_uses().count() as u64;
            Charge {
                usage: message.usage,
                cost_usd: message.cost_usd,
                request_id: message.request_id.as_deref(),
            }
        }
        Payload::Compaction(compaction) => {
            let [first, last] = compaction.replaces;
            if first == 0 || first > last || last >= seq {
                return Err(Error::invalid(format!(
                    "event seq {seq}: compaction field \"replaces\" must be [first, last] \
                     with 1 <= first <= last < {seq} (the compaction's own seq); got \
                     [{first}, {last}]"
                ))
                .into());
            }
            effect.compactions = 1;
            effect.context_start = Some(last + 1);
            Charge::of(&compaction.request)
        }
        Payload::Compression(compression) => Charge::of(&compression.request),
        Payload::Knowledge(item) => {
            effect.knowledge = Some(KnowledgeRow {
                kind: item.knowledge_kind,
                pinned: item.pinned,
                project_wide: item.scope == KnowledgeScope::Project,
            });
            Charge::default()
        }
        Payload::Command(_) | Payload::Error(_) | Payload::Hint(_) => Charge::default(),
        Payload::Other { fields, .. } => untyped_charge(seq, fields)?,
    };
    if request.usage.is_none() && request.cost_usd.is_none() {
        return Ok(effect);
    }
    let cost = request.cost_usd.unwrap_or(0.0);
    check_cost(seq, cost)?;
    if let Some(usage) = &request.usage {
        check_usage(seq, usage)?;
    }
    if let Some(id) = request.request_id {
        if seen(id)? {
            return Ok(effect);
        }
        effect.new_request_id = Some(id.to_owned());
    }
    effect.usage = request.usage.unwrap_or_default();
    effect.cost_usd = cost;
    Ok(effect)
}

/// The provider request an event records, borrowed from it.
#[derive(Default)]
struct Charge<'a> {
    usage: Option<Usage>,
    cost_usd: Option<f64>,
    request_id: Option<&'a str>,
}

impl<'a> Charge<'a> {
    fn of(record: &'a RequestRecord) -> Self {
        Charge {
            usage: record.usage,
            cost_usd: record.cost_usd,
            request_id: record.request_id.as_deref(),
        }
    }
}

/// The request recorded on an event of a kind this version does not type (or whose
/// fields did not fit its type): the same keys, read with the same rules.
fn untyped_charge(seq: u64, fields: &Map<String, Value>) -> Result<Charge<'_>, Error> {
    let usage = match fields.get("usage") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            serde_json::from_value::<Usage>(value.clone())
                .map_err(|e| Error::invalid(format!("event seq {seq}: field \"usage\": {e}")))?,
        ),
    };
    let cost_usd = match fields.get("cost_usd") {
        None | Some(Value::Null) => None,
        Some(value) => Some(value.as_f64().ok_or_else(|| cost_error(seq))?),
    };
    Ok(Charge {
        usage,
        cost_usd,
        request_id: fields.get("request_id").and_then(Value::as_str),
    })
}

fn cost_error(seq: u64) -> Error {
    Error::invalid(format!(
        "event seq {seq}: field \"cost_usd\" must be a finite number of at least 0"
    ))
}

/// A cost is a finite, non-negative number of US dollars: a negative one would lower
/// the session's spend and so lift its spending limits.
fn check_cost(seq: u64, cost: f64) -> Result<(), Error> {
    if cost.is_finite() && cost >= 0.0 {
        Ok(())
    } else {
        Err(cost_error(seq))
    }
}

fn check_usage(seq: u64, usage: &Usage) -> Result<(), Error> {
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
    Ok(())
}

/// What a batch of appended (or imported) events adds to its session's row.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TotalsDelta {
    pub usage: Usage,
    pub cost_usd: f64,
    pub messages: u64,
    pub tool_calls: u64,
    pub compactions: u64,
    /// (seq, context start) of the newest compaction in the batch.
    pub compaction: Option<(u64, u64)>,
    pub head_seq: u64,
    /// The time of the newest event; `None` for an empty batch (nothing to apply).
    pub last_ts: Option<Timestamp>,
}

impl TotalsDelta {
    /// Add the effect of the event at `seq`, stored at `ts`.
    pub fn add(&mut self, seq: u64, ts: Timestamp, effect: &EventEffect) {
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

impl Session {
    /// The session's running totals after `delta` (what a backend writes to its row).
    pub fn apply(&mut self, delta: &TotalsDelta) {
        let Some(last_ts) = delta.last_ts else {
            return;
        };
        self.head_seq = delta.head_seq;
        self.updated_at = last_ts;
        self.usage.add(&delta.usage);
        self.cost_usd += delta.cost_usd;
        self.message_count += delta.messages;
        self.tool_call_count += delta.tool_calls;
        self.compaction_count += delta.compactions;
        if let Some((seq, start)) = delta.compaction {
            self.compaction_seq = Some(seq);
            self.context_start_seq = start;
        }
    }
}

/// Seqs of an imported history must be dense from 1; every backend checks each
/// event's seq with this before writing it.
pub fn check_next_seq(seq: u64, expected: u64) -> crate::Result<()> {
    if seq != expected {
        return Err(Error::invalid(format!(
            "event seq {seq}: expected seq {expected} (seqs must be dense from 1, \
             without gaps or duplicates)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::HashSet;

    use super::*;
    use crate::event::decode_payload;
    use crate::event_kinds::{CompressionOutcome, CompressionRecord};
    use crate::{Compaction, ContentBlock, KnowledgeItem, Message, Role};

    fn usage(input: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: 1,
            ..Usage::default()
        }
    }

    fn answer(request_id: Option<&str>, input: u64, cost: f64) -> Payload {
        let mut m = Message::new(
            Role::Assistant,
            vec![
                ContentBlock::text("ok"),
                ContentBlock::ToolUse {
                    id: "t1".into(),
                    name: "read_file".into(),
                    input: serde_json::json!({}),
                },
            ],
        );
        m.usage = Some(usage(input));
        m.cost_usd = Some(cost);
        m.request_id = request_id.map(str::to_owned);
        Payload::Message(m)
    }

    /// Runs `payloads` as one batch against an in-memory set of request ids.
    fn run(payloads: &[Payload]) -> Result<TotalsDelta, Error> {
        let remembered = RefCell::new(HashSet::new());
        let mut delta = TotalsDelta::default();
        for (seq, payload) in (1..).zip(payloads) {
            let effect = effect(seq, payload, |id| {
                Ok::<_, Error>(remembered.borrow().contains(id))
            })?;
            if let Some(id) = &effect.new_request_id {
                remembered.borrow_mut().insert(id.clone());
            }
            delta.add(seq, Timestamp::UNIX_EPOCH, &effect);
        }
        Ok(delta)
    }

    #[test]
    fn a_request_id_is_counted_once_across_kinds() {
        let mut compaction = Compaction::new([1, 1], "s");
        compaction.request.usage = Some(usage(100));
        compaction.request.cost_usd = Some(0.5);
        compaction.request.request_id = Some("req-1".into());
        let delta = run(&[
            answer(Some("req-1"), 10, 0.25),
            Payload::Compaction(compaction),
            answer(Some("req-1"), 10, 0.25),
            answer(None, 7, 0.125),
            answer(None, 7, 0.125),
        ])
        .unwrap();
        assert_eq!(delta.usage.input_tokens, 10 + 7 + 7);
        assert_eq!(delta.cost_usd, 0.25 + 0.125 + 0.125);
        assert_eq!(delta.messages, 4);
        assert_eq!(delta.tool_calls, 4);
        assert_eq!(delta.compactions, 1);
        assert_eq!(delta.compaction, Some((2, 2)));
        assert_eq!(delta.head_seq, 5);
    }

    #[test]
    fn cost_must_be_finite_and_not_negative() {
        for bad in [f64::NAN, f64::INFINITY, -0.5] {
            let err = run(&[answer(None, 1, bad)]).unwrap_err().to_string();
            assert!(err.contains("cost_usd") && err.contains("seq 1"), "{err}");
        }
        // The untyped form of the same field follows the same rule.
        let fields = serde_json::json!({"usage": usage(1), "cost_usd": -1.0});
        let Value::Object(fields) = fields else {
            unreachable!()
        };
        let err = run(&[Payload::Other {
            kind: "future".into(),
            fields,
        }])
        .unwrap_err();
        assert!(err.to_string().contains("cost_usd"), "{err}");
    }

    #[test]
    fn usage_beyond_one_request_is_refused() {
        let err = run(&[answer(None, MAX_TOKENS_PER_REQUEST + 1, 0.0)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("input_tokens"), "{err}");
        assert!(run(&[answer(None, MAX_TOKENS_PER_REQUEST, 0.0)]).is_ok());
    }

    #[test]
    fn replaces_must_lie_before_the_compaction() {
        for replaces in [[0, 1], [2, 1], [1, 3]] {
            let payloads = [
                answer(None, 1, 0.0),
                answer(None, 1, 0.0),
                Payload::Compaction(Compaction::new(replaces, "s")),
            ];
            let err = run(&payloads).unwrap_err().to_string();
            assert!(err.contains("replaces"), "{replaces:?}: {err}");
        }
    }

    #[test]
    fn unknown_kinds_with_a_request_are_counted_and_kept() {
        let payload = decode_payload(
            "future_kind".into(),
            serde_json::from_str(
                r#"{"usage":{"input_tokens":5},"cost_usd":0.5,"request_id":"r","x":[1]}"#,
            )
            .unwrap(),
        )
        .unwrap();
        assert!(
            matches!(&payload, Payload::Other { fields, .. } if fields["x"] == serde_json::json!([1]))
        );
        let delta = run(&[payload.clone(), payload]).unwrap();
        assert_eq!(delta.usage.input_tokens, 5);
        assert_eq!(delta.cost_usd, 0.5);
    }

    #[test]
    fn a_compression_not_applied_counts_its_request() {
        let compression = Payload::Compression(CompressionRecord {
            outcome: CompressionOutcome::NotApplied,
            reason: "no gain".into(),
            request: RequestRecord {
                model: Some("m".into()),
                usage: Some(usage(40)),
                cost_usd: Some(0.75),
                request_id: None,
            },
            extra: Map::new(),
        });
        let delta = run(&[compression]).unwrap();
        assert_eq!((delta.usage.input_tokens, delta.cost_usd), (40, 0.75));
        assert_eq!(delta.messages, 0);
    }

    #[test]
    fn knowledge_gets_its_row_and_session_applies_the_delta() {
        let item = Payload::Knowledge(KnowledgeItem {
            knowledge_kind: KnowledgeKind::Fact,
            text: "t".into(),
            pinned: true,
            scope: Default::default(),
            extra: Map::new(),
        });
        let e = effect(1, &item, |_| Ok::<_, Error>(false)).unwrap();
        assert_eq!(
            e.knowledge,
            Some(KnowledgeRow {
                kind: KnowledgeKind::Fact,
                pinned: true,
                project_wide: false
            })
        );
        let delta = run(&[
            answer(Some("a"), 3, 1.0),
            answer(None, 2, 0.5),
            Payload::Compaction(Compaction::new([1, 2], "s")),
        ])
        .unwrap();
        let mut session = crate::Session {
            id: ulid::Ulid::nil(),
            name: crate::SessionName::parse("s").unwrap(),
            title: None,
            project: crate::Project::from_stored("p"),
            parent_id: None,
            fork_seq: None,
            model: None,
            status: crate::SessionStatus::Active,
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
            usage: Usage::default(),
            cost_usd: 1.0,
            spend_checkpoint_usd: 0.0,
            live_tokens: 0,
            head_seq: 0,
            context_start_seq: 1,
            compaction_seq: None,
            live_gaps: Vec::new(),
            message_count: 0,
            tool_call_count: 0,
            compaction_count: 0,
        };
        session.apply(&delta);
        assert_eq!(session.head_seq, 3);
        assert_eq!(session.cost_usd, 2.5);
        assert_eq!(session.usage.input_tokens, 5);
        assert_eq!(session.message_count, 2);
        assert_eq!(session.compaction_seq, Some(3));
        assert_eq!(session.context_start_seq, 3);
    }
}
