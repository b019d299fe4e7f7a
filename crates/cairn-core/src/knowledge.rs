//! Knowledge items (decision | constraint | preference | fact): deduplication, the set
//! retained in every live context, the block that carries them to the model, and
//! `/remember`, `/knowledge`, `/forget N`.
//!
//! Two items are the same when they have the same kind and the same text after
//! normalisation (case, runs of white space, trailing punctuation). The retained set is
//! the newest `knowledge_retention` distinct items plus every pinned one.

use serde::{Deserialize, Serialize};

use crate::display::single_spaced;
use crate::event::KnowledgeEntry;
use crate::{Error, Event, KnowledgeItem, KnowledgeKind, Payload, Result};

/// Longest knowledge text accepted: an item is one statement, not a document.
pub const MAX_KNOWLEDGE_CHARS: usize = 2_000;

/// The usage line `/remember` shows when it is given nothing to remember.
pub const REMEMBER_USAGE: &str =
    "usage: /remember [decision:|constraint:|preference:|fact:] TEXT (default kind: fact)";

/// Kinds in the order the knowledge block shows them: what must not be broken first.
const BLOCK_ORDER: [KnowledgeKind; 4] = [
    KnowledgeKind::Constraint,
    KnowledgeKind::Decision,
    KnowledgeKind::Preference,
    KnowledgeKind::Fact,
];

/// A distinct knowledge item and the knowledge events that state it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KnowledgeRecord {
    pub kind: KnowledgeKind,
    pub text: String,
    pub pinned: bool,
    /// Seqs of the knowledge events stating this item, oldest first; empty for an
    /// item known only from a compaction's record.
    pub seqs: Vec<u64>,
}

impl KnowledgeRecord {
    /// The record of a knowledge event; `None` for other events.
    pub fn from_event(event: &Event) -> Option<Self> {
        match &event.payload {
            Payload::Knowledge(k) => Some(KnowledgeRecord {
                kind: k.knowledge_kind,
                text: k.text.clone(),
                pinned: k.pinned,
                seqs: vec![event.seq],
            }),
            _ => None,
        }
    }

    pub fn from_entry(entry: &KnowledgeEntry) -> Self {
        KnowledgeRecord {
            kind: entry.kind,
            text: entry.text.clone(),
            pinned: false,
            seqs: Vec::new(),
        }
    }

    pub fn entry(&self) -> KnowledgeEntry {
        KnowledgeEntry {
            kind: self.kind,
            text: self.text.clone(),
        }
    }

    fn key(&self) -> (KnowledgeKind, String) {
        (self.kind, normalized(&self.text))
    }
}

/// The form two texts are compared in: lower case, single spaces, no trailing
/// punctuation or surrounding quotes.
pub fn normalized(text: &str) -> String {
    crate::display::collapse_whitespace(text)
        .trim_matches(|c: char| matches!(c, '"' | '\'' | '`'))
        .trim_end_matches(['.', '!', ';', ',', ':'])
        .trim()
        .to_lowercase()
}

/// The records of knowledge events, oldest first.
pub fn records(events: &[Event]) -> Vec<KnowledgeRecord> {
    events
        .iter()
        .filter_map(KnowledgeRecord::from_event)
        .collect()
}

/// Merge duplicates. An item stated again counts as new (it moves to its newest
/// position and keeps the newest wording); it is pinned when any statement is.
/// Order: by newest statement, oldest first.
pub fn dedupe(records: impl IntoIterator<Item = KnowledgeRecord>) -> Vec<KnowledgeRecord> {
    // Each key is computed once and found by hash: resume carries every pinned item, so
    // this runs over a list that grows with the history.
    let mut slots: Vec<Option<KnowledgeRecord>> = Vec::new();
    let mut position: std::collections::HashMap<_, usize> = std::collections::HashMap::new();
    for record in records {
        let key = record.key();
        let merged = match position.get(&key).and_then(|&pos| slots[pos].take()) {
            Some(mut earlier) => {
                earlier.pinned |= record.pinned;
                earlier.text = record.text;
                earlier.seqs.extend(record.seqs);
                earlier
            }
            None => record,
        };
        // Stating an item again makes it the newest.
        position.insert(key, slots.len());
        slots.push(Some(merged));
    }
    slots.into_iter().flatten().collect()
}

/// The items every live context carries: the newest `retention` distinct items and
/// every pinned one, oldest first.
pub fn retained(
    records: impl IntoIterator<Item = KnowledgeRecord>,
    retention: usize,
) -> Vec<KnowledgeRecord> {
    let all = dedupe(records);
    let newest_from = all.len().saturating_sub(retention);
    all.into_iter()
        .enumerate()
        .filter(|(i, r)| *i >= newest_from || r.pinned)
        .map(|(_, r)| r)
        .collect()
}

/// The candidates that are not already known (and not repeated among themselves),
/// in their order: what a compression or `/done` should append as knowledge events.
pub fn new_entries(
    known: &[KnowledgeRecord],
    candidates: &[KnowledgeEntry],
) -> Vec<KnowledgeEntry> {
    let mut seen: Vec<(KnowledgeKind, String)> = known.iter().map(KnowledgeRecord::key).collect();
    let mut out = Vec::new();
    for c in candidates {
        let key = (c.kind, normalized(&c.text));
        if key.1.is_empty() || seen.contains(&key) {
            continue;
        }
        seen.push(key);
        out.push(c.clone());
    }
    out
}

/// The knowledge block sent in every live context; `None` when there is nothing to
/// carry. Grouped by kind, constraints first.
pub fn render_block(records: &[KnowledgeRecord]) -> Option<String> {
    if records.is_empty() {
        return None;
    }
    let mut out = String::from(
        "## Knowledge to respect\nKept by cairn across context compressions; \
         follow these unless the user changes them.\n",
    );
    for kind in BLOCK_ORDER {
        for r in records.iter().filter(|r| r.kind == kind) {
            out.push_str("- [");
            out.push_str(kind.as_str());
            out.push_str("] ");
            out.push_str(&single_spaced(&r.text));
            out.push('\n');
        }
    }
    Some(out)
}

pub fn parse_kind(raw: &str) -> Option<KnowledgeKind> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "decision" => Some(KnowledgeKind::Decision),
        "constraint" => Some(KnowledgeKind::Constraint),
        "preference" => Some(KnowledgeKind::Preference),
        "fact" => Some(KnowledgeKind::Fact),
        _ => None,
    }
}

/// Check a knowledge text: not empty, not over [`MAX_KNOWLEDGE_CHARS`].
pub fn checked_text(text: &str) -> Result<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::invalid(format!(
            "knowledge text is empty; {REMEMBER_USAGE}"
        )));
    }
    let chars = text.chars().count();
    if chars > MAX_KNOWLEDGE_CHARS {
        return Err(Error::invalid(format!(
            "knowledge text is {chars} characters; the limit is {MAX_KNOWLEDGE_CHARS} \
             (state one decision, constraint, preference or fact)"
        )));
    }
    Ok(text.to_owned())
}

/// Parse the argument of `/remember`: an optional `decision:` / `constraint:` /
/// `preference:` / `fact:` prefix (any case), then the text. The item is pinned:
/// the user asked for it to stay.
pub fn parse_remember(input: &str) -> Result<KnowledgeItem> {
    let input = input.trim();
    let (kind, text) = match input.split_once(':') {
        Some((head, rest)) => match parse_kind(head) {
            Some(kind) => (kind, rest),
            None => (KnowledgeKind::Fact, input),
        },
        None => (KnowledgeKind::Fact, input),
    };
    Ok(KnowledgeItem {
        knowledge_kind: kind,
        text: checked_text(text)?,
        pinned: true,
        scope: Default::default(),
        extra: Default::default(),
    })
}

/// Whether a knowledge event belongs to the project (shared by its sessions).
pub fn is_project_item(event: &Event) -> bool {
    matches!(&event.payload, Payload::Knowledge(k) if k.scope == crate::KnowledgeScope::Project)
}

/// Of a project's knowledge events (any sessions, oldest first), the ones a new
/// context carries: one event per distinct item (its newest statement), the newest
/// `retention` distinct items and every pinned one, oldest first.
pub fn retained_events(events: Vec<Event>, retention: usize) -> Vec<Event> {
    // Seqs of different sessions collide: number the events by position instead.
    let numbered = events.iter().enumerate().filter_map(|(i, e)| {
        KnowledgeRecord::from_event(e).map(|mut r| {
            r.seqs = vec![i as u64];
            r
        })
    });
    let mut keep: Vec<usize> = retained(numbered, retention)
        .iter()
        .filter_map(|r| r.seqs.last().map(|&i| i as usize))
        .collect();
    keep.sort_unstable();
    let mut events: Vec<Option<Event>> = events.into_iter().map(Some).collect();
    keep.into_iter()
        .filter_map(|i| events.get_mut(i).and_then(Option::take))
        .collect()
}

/// What `/remember` (or the model's `remember` tool) should do with an item.
#[derive(Clone, Debug, PartialEq)]
pub enum RememberAction {
    /// New: append this knowledge event.
    Append(KnowledgeItem),
    /// Already known but not pinned: pin these existing events.
    Pin { seqs: Vec<u64> },
    /// Already known (and pinned, or no pin asked): nothing to do.
    AlreadyKnown,
}

/// Decide between appending a new item and pinning the existing one, so that
/// remembering a thing twice does not store it twice.
pub fn remember_action(known: &[KnowledgeRecord], item: KnowledgeItem) -> RememberAction {
    let key = (item.knowledge_kind, normalized(&item.text));
    match dedupe(known.iter().cloned())
        .into_iter()
        .find(|r| r.key() == key)
    {
        Some(existing) if existing.pinned || !item.pinned => RememberAction::AlreadyKnown,
        Some(existing) => RememberAction::Pin {
            seqs: existing.seqs,
        },
        None => RememberAction::Append(item),
    }
}

/// One line of `/knowledge`; `number` is what `/forget N` takes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KnowledgeListing {
    pub number: usize,
    pub kind: KnowledgeKind,
    pub text: String,
    pub pinned: bool,
    /// Whether the item is in the live context (newest N or pinned).
    pub retained: bool,
    pub seqs: Vec<u64>,
}

/// Every distinct knowledge item of a session (from all its knowledge events, oldest
/// first), numbered from 1, with whether it is retained.
pub fn listing(knowledge_events: &[Event], retention: usize) -> Vec<KnowledgeListing> {
    let all = dedupe(records(knowledge_events));
    let newest_from = all.len().saturating_sub(retention);
    all.into_iter()
        .enumerate()
        .map(|(i, r)| KnowledgeListing {
            number: i + 1,
            retained: i >= newest_from || r.pinned,
            kind: r.kind,
            text: r.text,
            pinned: r.pinned,
            seqs: r.seqs,
        })
        .collect()
}

/// `/knowledge` as text, one item a line.
pub fn render_listing(listing: &[KnowledgeListing]) -> String {
    if listing.is_empty() {
        return "no knowledge items yet (add one with /remember TEXT)\n".to_owned();
    }
    let mut out = String::new();
    for item in listing {
        let marks = match (item.pinned, item.retained) {
            (true, _) => "pinned",
            (false, true) => "live",
            (false, false) => "history only",
        };
        out.push_str(&format!(
            "{:>3}. [{}] {} ({marks})\n",
            item.number,
            item.kind.as_str(),
            single_spaced(&item.text)
        ));
    }
    out
}

/// The knowledge events `/forget N` unpins. The item stays in the history and in
/// the live context while it is among the newest `knowledge_retention`.
pub fn forget_target(listing: &[KnowledgeListing], raw_number: &str) -> Result<Vec<u64>> {
    let number: usize = raw_number.trim().parse().map_err(|_| {
        Error::invalid(format!(
            "/forget takes the number /knowledge shows, got {:?}",
            raw_number.trim()
        ))
    })?;
    let item = listing.iter().find(|i| i.number == number).ok_or_else(|| {
        Error::invalid(format!(
            "no knowledge item {number}; /knowledge lists {} item(s)",
            listing.len()
        ))
    })?;
    if !item.pinned {
        return Err(Error::invalid(format!(
            "knowledge item {number} is not pinned; nothing to forget"
        )));
    }
    Ok(item.seqs.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn knowledge(seq: u64, kind: KnowledgeKind, text: &str, pinned: bool) -> Event {
        Event {
            seq,
            ts: jiff::Timestamp::UNIX_EPOCH,
            payload: Payload::Knowledge(KnowledgeItem {
                knowledge_kind: kind,
                text: text.into(),
                pinned,
                scope: Default::default(),
                extra: Default::default(),
            }),
        }
    }

    #[test]
    fn a_projects_retained_events_are_by_position_not_seq() {
        // Two sessions' items with equal seqs; the same decision stated twice.
        let events = vec![
            knowledge(1, KnowledgeKind::Decision, "use PostgreSQL", false),
            knowledge(1, KnowledgeKind::Fact, "old fact", true),
            knowledge(2, KnowledgeKind::Fact, "newer fact", false),
            knowledge(2, KnowledgeKind::Decision, "Use PostgreSQL.", false),
        ];
        let kept = retained_events(events, 1);
        let texts: Vec<String> = kept
            .iter()
            .map(|e| match &e.payload {
                Payload::Knowledge(k) => k.text.clone(),
                _ => String::new(),
            })
            .collect();
        // The pinned one always; of the rest only the newest distinct item, in its
        // newest wording.
        assert_eq!(texts, ["old fact", "Use PostgreSQL."]);
        assert!(retained_events(Vec::new(), 5).is_empty());
    }

    #[test]
    fn duplicates_merge_by_kind_and_normalised_text() {
        let events = vec![
            knowledge(1, KnowledgeKind::Decision, "Use JWT  for auth.", true),
            knowledge(2, KnowledgeKind::Fact, "use jwt for auth", false),
            knowledge(3, KnowledgeKind::Decision, "use JWT for auth", false),
            knowledge(4, KnowledgeKind::Constraint, "No unsafe", false),
        ];
        let merged = dedupe(records(&events));
        assert_eq!(merged.len(), 3, "{merged:?}");
        // The restated decision moved to its newest position and stayed pinned.
        assert_eq!(merged[0].kind, KnowledgeKind::Fact);
        assert_eq!(merged[1].kind, KnowledgeKind::Decision);
        assert!(merged[1].pinned);
        assert_eq!(merged[1].seqs, vec![1, 3]);
        assert_eq!(merged[1].text, "use JWT for auth");
    }

    #[test]
    fn retained_is_newest_n_plus_pinned() {
        let mut events = vec![knowledge(1, KnowledgeKind::Constraint, "pinned old", true)];
        for i in 2..=20 {
            events.push(knowledge(
                i,
                KnowledgeKind::Fact,
                &format!("fact {i}"),
                false,
            ));
        }
        let kept = retained(records(&events), 5);
        let texts: Vec<&str> = kept.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "pinned old",
                "fact 16",
                "fact 17",
                "fact 18",
                "fact 19",
                "fact 20"
            ]
        );
        let block = render_block(&kept).unwrap();
        assert!(block.starts_with("## Knowledge"));
        assert!(block.contains("- [constraint] pinned old\n"));
        assert!(block.find("pinned old") < block.find("fact 16"));
        assert!(render_block(&[]).is_none());
    }

    #[test]
    fn new_entries_skip_known_and_repeated() {
        let known = records(&[knowledge(1, KnowledgeKind::Decision, "Use SQLite", false)]);
        let candidates = vec![
            KnowledgeEntry {
                kind: KnowledgeKind::Decision,
                text: "use sqlite.".into(),
            },
            KnowledgeEntry {
                kind: KnowledgeKind::Fact,
                text: "CI runs on 2 cores".into(),
            },
            KnowledgeEntry {
                kind: KnowledgeKind::Fact,
                text: "CI runs on 2 cores!".into(),
            },
            KnowledgeEntry {
                kind: KnowledgeKind::Fact,
                text: "  ".into(),
            },
        ];
        let fresh = new_entries(&known, &candidates);
        assert_eq!(fresh.len(), 1);
        assert_eq!(fresh[0].text, "CI runs on 2 cores");
    }

    #[test]
    fn remember_parses_prefixes() {
        let item = parse_remember("Constraint: never push to main").unwrap();
        assert_eq!(item.knowledge_kind, KnowledgeKind::Constraint);
        assert_eq!(item.text, "never push to main");
        assert!(item.pinned);
        let item = parse_remember("the API lives at http://localhost:8080").unwrap();
        assert_eq!(item.knowledge_kind, KnowledgeKind::Fact);
        assert_eq!(item.text, "the API lives at http://localhost:8080");
        let err = parse_remember("decision:   ").unwrap_err().to_string();
        assert!(err.contains("empty") && err.contains("/remember"), "{err}");
        let err = parse_remember(&"x".repeat(MAX_KNOWLEDGE_CHARS + 1))
            .unwrap_err()
            .to_string();
        assert!(err.contains("limit"), "{err}");
    }

    #[test]
    fn remembering_twice_pins_instead_of_duplicating() {
        let known = records(&[knowledge(4, KnowledgeKind::Fact, "port is 8080", false)]);
        let item = parse_remember("fact: Port is 8080.").unwrap();
        assert_eq!(
            remember_action(&known, item.clone()),
            RememberAction::Pin { seqs: vec![4] }
        );
        let pinned = records(&[knowledge(4, KnowledgeKind::Fact, "port is 8080", true)]);
        assert_eq!(remember_action(&pinned, item), RememberAction::AlreadyKnown);
        let new = parse_remember("decision: port is 8080").unwrap();
        assert!(matches!(
            remember_action(&known, new),
            RememberAction::Append(_)
        ));
    }

    #[test]
    fn forget_unpins_by_listed_number() {
        let events = vec![
            knowledge(2, KnowledgeKind::Fact, "a", true),
            knowledge(5, KnowledgeKind::Fact, "b", false),
            knowledge(9, KnowledgeKind::Fact, "A", false),
        ];
        let list = listing(&events, 1);
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].text, "b");
        assert!(!list[0].retained);
        assert_eq!(list[1].number, 2);
        assert_eq!(forget_target(&list, "2").unwrap(), vec![2, 9]);
        assert!(
            forget_target(&list, "1")
                .unwrap_err()
                .to_string()
                .contains("not pinned")
        );
        assert!(
            forget_target(&list, "3")
                .unwrap_err()
                .to_string()
                .contains("no knowledge item 3")
        );
        assert!(forget_target(&list, "x").is_err());
        let shown = render_listing(&list);
        assert!(shown.contains("  2. [fact] A (pinned)"), "{shown}");
        assert!(shown.contains("history only"), "{shown}");
    }

    #[test]
    fn a_listed_item_cannot_paint_the_terminal() {
        let item = KnowledgeListing {
            number: 1,
            retained: true,
            kind: KnowledgeKind::Fact,
            text: "red\u{1b}[31m and\nsplit \u{202E}txt".into(),
            pinned: false,
            seqs: vec![1],
        };
        let shown = render_listing(&[item]);
        assert_eq!(
            shown,
            "  1. [fact] red\\u{1b}[31m and split \\u{202e}txt (live)\n"
        );
    }
}
