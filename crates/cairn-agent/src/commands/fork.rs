//! `/fork NEW [SEQ]`: fork the current session (at its head, or at SEQ) and go on
//! in the fork; the parent keeps its history and is resumable as it was.

use cairn_core::SessionName;
use serde_json::json;

use super::{CommandResult, Failure, Output};
use crate::Frontend;
use crate::agent::Agent;

pub(super) async fn run(agent: &mut Agent, args: &[&str], ui: &mut dyn Frontend) -> CommandResult {
    let (raw, at) = match args {
        [raw] => (*raw, None),
        [raw, seq] => {
            let seq = seq.parse::<u64>().map_err(|_| {
                Failure::Usage(format!("/fork: SEQ must be an event number, got {seq:?}"))
            })?;
            (*raw, Some(seq))
        }
        _ => return Err(Failure::Usage("usage: /fork NEW [SEQ]".into())),
    };
    let name = SessionName::parse(raw)?;
    let parent = agent.conversation.session().name.clone();
    let (fork, parent) = cairn_app::fork::fork(agent.store.as_ref(), &parent, name, at).await?;
    let forked = cairn_app::fork::Forked::of(&fork, &parent);
    super::switch::switch_to(agent, fork, false, ui).await?;
    Ok(Output::new(
        format!(
            "forked {} from {} at seq {}; now in {} ({} stays as it was: /session {})",
            forked.name, forked.parent, forked.fork_seq, forked.name, forked.parent, forked.parent
        ),
        json!(forked),
    ))
}
