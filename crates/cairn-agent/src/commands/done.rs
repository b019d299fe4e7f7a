//! `/done [NOTE]`: close a piece of work. The whole live context is compressed (no
//! verbatim tail), then a checkpoint is saved — the same record `save_progress`
//! writes (summary, files touched, decisions, next steps), under the session's name,
//! so `where_was_i`, `get_progress`, `cairn where` and every MCP client see it.
//!
//! The checkpoint is saved even when nothing could be compressed (an empty or tiny
//! context, a model that failed): the work still reached a natural stop.

use cairn_core::SessionStatus;
use cairn_core::env_vars;
use cairn_core::event::KnowledgeEntry;
use cairn_core::live_messages::retained_knowledge;
use cairn_core::store::SessionUpdate;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::done_checkpoint::{DoneInput, checkpoint_from_done};
use super::summarize::{Compressed, compress_now, optional_text};
use super::{CommandResult, Output};
use crate::Frontend;
use crate::agent::Agent;
use crate::compress::Mode;

pub(super) async fn run(
    agent: &mut Agent,
    rest: &str,
    ui: &mut dyn Frontend,
    cancel: &CancellationToken,
) -> CommandResult {
    let note = optional_text(rest);
    let result = compress_now(agent, ui, Mode::Done, cancel).await?;
    let instance = std::env::var(env_vars::CAIRN_INSTANCE).ok();
    let name = agent.conversation.session().name.as_str().to_owned();
    let (line, compaction_seq, checkpoint) = match &result {
        Compressed::Applied(applied) => {
            let checkpoint = checkpoint_from_done(&DoneInput {
                session_name: &name,
                project: &agent.conversation.session().project,
                note,
                summary: applied.summary.as_ref(),
                events: &applied.covered,
                knowledge: &applied.draft.compaction.knowledge,
                instance: instance.as_deref(),
            });
            (applied.message.clone(), Some(applied.seq), checkpoint)
        }
        Compressed::NotApplied { reason, summary } => {
            let knowledge: Vec<KnowledgeEntry> = retained_knowledge(agent.conversation.live())
                .iter()
                .map(|r| r.entry())
                .collect();
            let checkpoint = checkpoint_from_done(&DoneInput {
                session_name: &name,
                project: &agent.conversation.session().project,
                note,
                summary: summary.as_deref(),
                events: &agent.conversation.live().events,
                knowledge: &knowledge,
                instance: instance.as_deref(),
            });
            (reason.clone(), None, checkpoint)
        }
    };
    let saved = agent.store.save_checkpoint(checkpoint).await?;
    // The work reached a natural stop; the next message makes the session active again.
    agent
        .update_session(SessionUpdate {
            status: Some(SessionStatus::Done),
            ..Default::default()
        })
        .await?;
    let text = format!(
        "{line}\ncheckpoint saved: session {name}, round {round} ({decisions} decision{ds}, \
         {files} file{fs}, {steps} next step{ss}). `cairn where {name}` and the MCP tool \
         where_was_i(session_id=\"{name}\") show it.\nsession {name} is marked done; a new \
         message makes it active again.",
        round = saved.round_id,
        decisions = saved.decisions_made.len(),
        ds = plural(saved.decisions_made.len()),
        files = saved.files_touched.len(),
        fs = plural(saved.files_touched.len()),
        steps = saved.next_steps.len(),
        ss = plural(saved.next_steps.len()),
    );
    Ok(Output::new(
        text,
        json!({
            "compaction_seq": compaction_seq,
            "checkpoint": saved,
            "status": agent.conversation.session().status,
        }),
    ))
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
