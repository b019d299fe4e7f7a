//! `/rewind [N]`: move the live context back to just before one of the last user
//! messages (`/rewind` lists them, `/rewind N` goes N messages back), and offer to
//! put back the files the agent changed since. The rewound events stay in the
//! history (`/context all`; a fork can start from them).

use cairn_app::rewind::{self, Restored};
use serde_json::json;

use super::{CommandResult, Failure, Output};
use crate::agent::Agent;
use crate::frontend::Question;
use crate::{AgentError, Frontend};

/// How many user messages `/rewind` lists.
const SHOWN: usize = 10;

pub(super) async fn run(agent: &mut Agent, args: &[&str], ui: &mut dyn Frontend) -> CommandResult {
    let session = agent.conversation.session().clone();
    let turns = rewind::user_turns(agent.store.as_ref(), &session).await?;
    if turns.is_empty() {
        return Err(Failure::Usage(
            "/rewind: the live context has no user message to go back to".into(),
        ));
    }
    let back = match args {
        [] => return Ok(picker(&turns)),
        [n] => n
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=turns.len()).contains(n)),
        _ => None,
    };
    let Some(back) = back else {
        return Err(Failure::Usage(format!(
            "usage: /rewind [N] with N from 1 to {} (/rewind lists them)",
            turns.len()
        )));
    };
    let target = &turns[turns.len() - back];
    let plan = rewind::plan(agent.store.as_ref(), &session, target.seq).await?;
    if let Some(lease) = &agent.lease {
        lease
            .check(session.name.as_str())
            .map_err(|e| Failure::Engine(AgentError::Core(e)))?;
    }
    let rewind_seq = rewind::rewind(agent.store.as_ref(), &session, target.seq).await?;
    agent.refresh_session().await?;
    agent.reload_live().await?;
    let mut lines = vec![format!(
        "rewound to just before seq {} (“{}”): {} event(s) left the live context; the \
         history keeps them (/context all, or /fork NEW {} to go on from them)",
        target.seq,
        target.text,
        plan.rewound_events,
        session.head_seq.max(target.seq)
    )];
    let restored = restore_files(agent, &plan, ui).await;
    for (path, outcome) in &restored {
        lines.push(match outcome {
            Restored::Restored => format!("  restored {path}"),
            Restored::Removed => format!("  removed {path} (the agent had created it)"),
            Restored::Unchanged => format!("  {path} was already as before"),
            Restored::ChangedOutside => {
                format!("  left {path} alone: changed outside cairn after the agent wrote it")
            }
            Restored::Failed { reason } => format!("  could not restore {path}: {reason}"),
        });
    }
    if !plan.files.is_empty() && restored.is_empty() {
        lines.push(format!(
            "  files left as they are: {}",
            plan.files
                .iter()
                .map(|f| f.path.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    lines.push(format!(
        "Changes made through shell ({} call(s) since) or outside cairn are not tracked.",
        plan.shell_calls
    ));
    Ok(Output::new(
        lines.join("\n"),
        json!({
            "to_seq": target.seq,
            "rewind_seq": rewind_seq,
            "rewound_events": plan.rewound_events,
            "files": restored
                .iter()
                .map(|(path, outcome)| json!({"path": path, "result": outcome}))
                .collect::<Vec<_>>(),
            "shell_calls": plan.shell_calls,
        }),
    ))
}

/// The last user messages, numbered by how far back each is.
fn picker(turns: &[rewind::Turn]) -> Option<Output> {
    let mut text = String::from("Go back to just before which message? /rewind N:\n");
    let shown: Vec<_> = turns.iter().rev().take(SHOWN).enumerate().collect();
    for (index, turn) in &shown {
        text.push_str(&format!(
            "  {:>2}  seq {:<6} {}\n",
            index + 1,
            turn.seq,
            turn.text
        ));
    }
    Output::new(
        text.trim_end().to_owned(),
        json!({
            "turns": shown
                .iter()
                .map(|(index, t)| json!({"n": index + 1, "seq": t.seq, "text": t.text}))
                .collect::<Vec<_>>()
        }),
    )
}

/// Lists the files the agent changed since the rewind point and asks; a file
/// changed outside cairn since is overwritten only after a second, explicit yes.
async fn restore_files(
    agent: &Agent,
    plan: &rewind::RewindPlan,
    ui: &mut dyn Frontend,
) -> Vec<(String, Restored)> {
    if plan.files.is_empty() || !ui.is_interactive() {
        return Vec::new();
    }
    let paths = plan.files.iter().map(|f| f.path.clone()).collect();
    if !ui
        .ask(&Question::RestoreFiles {
            files: paths,
            overwrite: false,
        })
        .await
    {
        return Vec::new();
    }
    let root = agent.toolbox.root().to_path_buf();
    let changed: Vec<String> = plan
        .files
        .iter()
        .filter(|f| rewind::changed_outside(&root, f).unwrap_or(false))
        .map(|f| f.path.clone())
        .collect();
    let overwrite = !changed.is_empty()
        && ui
            .ask(&Question::RestoreFiles {
                files: changed,
                overwrite: true,
            })
            .await;
    let mut out = Vec::new();
    for change in &plan.files {
        let outcome = rewind::restore(agent.store.as_ref(), &root, change, overwrite).await;
        out.push((change.path.clone(), outcome));
    }
    out
}
