//! The messages a live context becomes when it is sent to a model: a preamble (the
//! latest compaction's summary and the retained knowledge block), then every message
//! after the compacted range. Token counting ([`crate::tokens`]) counts exactly this.

use crate::knowledge::{self, KnowledgeRecord};
use crate::{LiveContext, Message, Payload, Role};

/// The knowledge carried by a live context: the store's retained set when it has one,
/// else the items recorded in the latest compaction.
pub fn retained_knowledge(live: &LiveContext) -> Vec<KnowledgeRecord> {
    if !live.knowledge.is_empty() {
        return knowledge::dedupe(knowledge::records(&live.knowledge));
    }
    match live.compaction.as_ref().map(|e| &e.payload) {
        Some(Payload::Compaction(c)) => c
            .knowledge
            .iter()
            .map(KnowledgeRecord::from_entry)
            .collect(),
        _ => Vec::new(),
    }
}

/// The text of the preamble, or `None` when there is no summary and no knowledge.
pub fn preamble_text(live: &LiveContext) -> Option<String> {
    compose_preamble(compaction_summary(live), &retained_knowledge(live))
}

/// The range the latest compaction replaced and its summary, if there is one.
pub fn compaction_summary(live: &LiveContext) -> Option<([u64; 2], &str)> {
    match live.compaction.as_ref().map(|e| &e.payload) {
        Some(Payload::Compaction(c)) => Some((c.replaces, c.summary.as_str())),
        _ => None,
    }
}

/// The preamble for a summary of `replaces` and a knowledge set (used to size a
/// compaction before it exists).
pub fn compose_preamble(
    summary: Option<([u64; 2], &str)>,
    knowledge: &[KnowledgeRecord],
) -> Option<String> {
    preamble_with_block(summary, knowledge::render_block(knowledge))
}

/// The preamble for a summary of `replaces` and a knowledge block already rendered
/// ([`knowledge::render_block`]), for a caller that needs the block on its own too.
pub fn preamble_with_block(
    summary: Option<([u64; 2], &str)>,
    block: Option<String>,
) -> Option<String> {
    if summary.is_none() && block.is_none() {
        return None;
    }
    let mut text = String::new();
    if let Some(([first, last], summary)) = summary {
        text.push_str(&format!(
            "[cairn] Earlier parts of this session (events {first}–{last}) were compressed \
             into the summary below; the full history is kept on disk. The recall tool \
             reads it back verbatim: recall(query=\"words\") finds where something was \
             said, recall(seq=N) reads event N whole.\n\n\
             # Summary of earlier work\n{}\n",
            summary.trim_end()
        ));
    }
    if let Some(block) = block {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&block);
    }
    Some(text)
}

/// The preamble as a user message.
pub fn preamble(live: &LiveContext) -> Option<Message> {
    Preamble::of(live).message
}

/// A live context's preamble built once (knowledge deduplicated, block rendered) for
/// everything that needs it before a request: the measure, the bound and the request
/// itself. On a long history the knowledge alone is hundreds of items (BENCHMARKS.md,
/// "The resume ratio: where the 100 MB resume spends more").
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Preamble {
    /// The preamble as the user message a model receives, `None` when there is no
    /// summary and no knowledge.
    pub message: Option<Message>,
    /// The knowledge block alone ([`knowledge::render_block`]).
    pub knowledge_block: Option<String>,
}

impl Preamble {
    pub fn of(live: &LiveContext) -> Self {
        let knowledge_block = knowledge::render_block(&retained_knowledge(live));
        let message = preamble_with_block(compaction_summary(live), knowledge_block.clone())
            .map(|text| Message::text(Role::User, text));
        Preamble {
            message,
            knowledge_block,
        }
    }
}

/// Every message of the live context, in the order a model receives them.
pub fn assemble(live: &LiveContext) -> Vec<Message> {
    assemble_after(preamble(live), live)
}

/// [`assemble`] with the preamble already built ([`Preamble::of`] of `live`).
pub fn assemble_after(preamble: Option<Message>, live: &LiveContext) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::with_capacity(live.events.len() + 1);
    out.extend(preamble);
    out.extend(
        live.events
            .iter()
            .filter_map(|e| e.payload.as_message())
            .cloned(),
    );
    out
}
