//! `/summarize [FOCUS]`: compress the live context now, to the ratio of the pressure
//! level in force; FOCUS steers what the summary dwells on.

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{CommandResult, Failure, Output};
use crate::Frontend;
use crate::agent::Agent;
use crate::compress::{Applied, Compression, Mode, compress};
use cairn_core::compression::StructuredSummary;

pub(super) async fn run(
    agent: &mut Agent,
    rest: &str,
    ui: &mut dyn Frontend,
    cancel: &CancellationToken,
) -> CommandResult {
    let focus = optional_text(rest);
    match compress_now(agent, ui, Mode::Summarize { focus }, cancel).await? {
        Compressed::Applied(applied) => {
            let c = &applied.draft.compaction;
            Ok(Output::new(
                applied.message.clone(),
                json!({
                    "compaction_seq": applied.seq,
                    "replaces": c.replaces,
                    "tokens_before": c.tokens_before,
                    "tokens_after": applied.draft.tokens_after,
                    "reached_target": applied.draft.reached_target,
                    "method": c.method.as_ref().map(|m| m.as_str()),
                    "new_knowledge": applied.draft.new_knowledge,
                    "focus": focus,
                }),
            ))
        }
        Compressed::NotApplied { reason, .. } => Err(Failure::Usage(reason)),
    }
}

/// What `/summarize FOCUS` and `/done NOTE` take after the command: the rest of the
/// line, when there is any.
pub(super) fn optional_text(rest: &str) -> Option<&str> {
    Some(rest.trim()).filter(|t| !t.is_empty())
}

/// A compression `/summarize` or `/done` asked for, that ran to its end.
pub(super) enum Compressed {
    Applied(Box<Applied>),
    NotApplied {
        reason: String,
        summary: Option<Box<StructuredSummary>>,
    },
}

/// The opening `/summarize` and `/done` share: compress as `mode` asks; when the
/// person interrupts the compressor, the command ends saying nothing changed.
pub(super) async fn compress_now(
    agent: &mut Agent,
    ui: &mut dyn Frontend,
    mode: Mode<'_>,
    cancel: &CancellationToken,
) -> Result<Compressed, Failure> {
    let (command, unchanged) = match mode {
        Mode::Done => (
            "/done",
            "no compaction, no checkpoint, the session's status is as it was",
        ),
        _ => ("/summarize", "the live context is as it was"),
    };
    match compress(agent, ui, mode, cancel).await? {
        Compression::Applied(applied) => Ok(Compressed::Applied(applied)),
        Compression::NotApplied { reason, summary } => {
            Ok(Compressed::NotApplied { reason, summary })
        }
        Compression::Cancelled => Err(Failure::Interrupted(format!(
            "{command} was interrupted before the summary arrived; nothing changed: {unchanged}"
        ))),
    }
}
