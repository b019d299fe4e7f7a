//! `/summarize [FOCUS]`: compress the live context now, to the ratio of the pressure
//! level in force; FOCUS steers what the summary dwells on.

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{CommandResult, Failure, Output};
use crate::Frontend;
use crate::agent::Agent;
use crate::compress::{Compression, Mode, compress};

pub(super) async fn run(
    agent: &mut Agent,
    rest: &str,
    ui: &mut dyn Frontend,
    cancel: &CancellationToken,
) -> CommandResult {
    let focus = Some(rest.trim()).filter(|f| !f.is_empty());
    match compress(agent, ui, Mode::Summarize { focus }, cancel).await? {
        Compression::Applied(applied) => {
            let c = &applied.draft.compaction;
            Ok(Output::new(
                applied.message.clone(),
                json!({
                    "compaction_seq": applied.seq,
                    "replaces": c.replaces,
                    "tokens_before": c.tokens_before,
                    "tokens_after": applied.draft.tokens_after,
                    "reached_target": applied.draft.reached_target,
                    "method": c.extra.get("method"),
                    "new_knowledge": applied.draft.new_knowledge,
                    "focus": focus,
                }),
            ))
        }
        Compression::NotApplied { reason, .. } => Err(Failure::Usage(reason)),
        Compression::Cancelled => Err(Failure::Interrupted(
            "/summarize was interrupted before the summary arrived; nothing changed: the live \
             context is as it was"
                .to_owned(),
        )),
    }
}
