//! `/session NAME`, `/new [NAME]` and `/rename NAME`: moving between sessions, each
//! with its own history, live context and writer lease.

use cairn_core::{Session, SessionName};
use serde_json::json;

use super::{CommandResult, Failure, Output};
use crate::agent::{Agent, choose_model_for_switch, toolbox_for};
use crate::conversation::Conversation;
use crate::{AgentEvent, Frontend, resume};

pub(super) async fn session(
    agent: &mut Agent,
    args: &[&str],
    ui: &mut dyn Frontend,
) -> CommandResult {
    let [raw] = args else {
        return Err(Failure::Usage("usage: /session NAME (see /list)".into()));
    };
    let name = SessionName::parse(raw)?;
    if name == agent.conversation.session().name {
        return Ok(Output::new(
            format!("already in session {raw}"),
            json!({"session": raw}),
        ));
    }
    let target = match agent.store.session(&name).await {
        Ok(s) => s,
        Err(cairn_core::Error::NotFound { .. }) => {
            return Err(Failure::Usage(format!(
                "no session named {raw}; /list shows this project's sessions, /new {raw} creates it"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    switch_to(agent, target, false, ui).await?;
    Ok(None)
}

pub(super) async fn new(agent: &mut Agent, args: &[&str], ui: &mut dyn Frontend) -> CommandResult {
    let name = match args {
        [] => None,
        [raw] => Some(SessionName::parse(raw)?),
        _ => return Err(Failure::Usage("usage: /new [NAME]".into())),
    };
    let project = agent.options.project.clone();
    let model = agent.model.clone();
    let created = resume::create_session(&agent.store, &project, name, Some(&model)).await?;
    switch_to(agent, created, true, ui).await?;
    Ok(None)
}

pub(super) async fn rename(agent: &mut Agent, args: &[&str]) -> CommandResult {
    let [raw] = args else {
        return Err(Failure::Usage("usage: /rename NAME".into()));
    };
    let new = SessionName::parse(raw)?;
    let old = agent.conversation.session().name.clone();
    let renamed = agent.store.rename_session(&old, &new).await?;
    agent.conversation.set_session(renamed);
    Ok(Output::new(
        format!("renamed {} to {}", old.as_str(), new.as_str()),
        json!({"old": old.as_str(), "new": new.as_str()}),
    ))
}

/// Leave the current session for `target`. The new lease is taken before the old one
/// is released; if the new session cannot be taken, nothing changes.
pub(super) async fn switch_to(
    agent: &mut Agent,
    target: Session,
    created: bool,
    ui: &mut dyn Frontend,
) -> Result<(), Failure> {
    let toolbox = toolbox_for(&target, &agent.options)?;
    let model = choose_model_for_switch(agent, target.model.as_deref());
    let old_lease = agent.lease.take();
    // Attachments queued for the next message go with the person to the new session.
    let mut conversation = Conversation::new(target);
    for attachment in agent.conversation.take_pending() {
        conversation.queue(attachment);
    }
    let old_conversation = std::mem::replace(&mut agent.conversation, conversation);
    let old_toolbox = std::mem::replace(&mut agent.toolbox, toolbox);
    let old_model = std::mem::replace(&mut agent.model, model);
    let old_last = agent.last_request.take();
    match agent.attach(created, false, ui).await {
        Ok(()) => {
            if let Some(lease) = old_lease
                && let Err(e) = lease.release().await
            {
                ui.event(AgentEvent::Notice {
                    message: format!("could not release the previous session's lease: {e}"),
                });
            }
            Ok(())
        }
        Err(e) => {
            let pending = agent.conversation.take_pending();
            agent.conversation = old_conversation;
            for attachment in pending {
                agent.conversation.queue(attachment);
            }
            agent.toolbox = old_toolbox;
            agent.model = old_model;
            agent.last_request = old_last;
            agent.lease = old_lease;
            match e {
                crate::AgentError::Core(core) => Err(core.into()),
                other => Err(Failure::Usage(other.to_string())),
            }
        }
    }
}
