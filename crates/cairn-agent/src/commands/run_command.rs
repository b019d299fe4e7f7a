//! `/run NAME [ARGS]`: run a command of `[[commands]]` (or the shipped `reduce`).
//!
//! - A template without `{context}` and `output = "append"` is an ordinary turn: its
//!   prompt is the next user message, with tools, streamed like any answer.
//! - A template with `{context}` carries the live context itself and is sent alone
//!   (useful with a different, cheaper model); with `"append"` the answer is stored
//!   after a short `/run NAME ARGS` user message.
//! - `output = "replace"` makes the answer the new live context: a `compaction` event
//!   (method `command`) standing for every live event, so nothing is lost.

use cairn_core::compression::PromptLimits;
use cairn_core::live_messages::retained_knowledge;
use cairn_core::run_commands::{
    commands_with_defaults, compaction_from_command_answer, find_command, render_command,
};
use cairn_core::settings::CommandOutput;
use cairn_core::{Message, Role};
use cairn_llm::ChatRequest;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::agent::{Agent, Outcome, StopCause};
use cairn_core::display::grouped;

use crate::compress;
use crate::{AgentError, AgentEvent, Frontend, spending};

/// Window assumed for `{context}` when the model's is not known.
const UNKNOWN_WINDOW: u64 = cairn_core::compression::triggers::DEFAULT_CONTEXT_WINDOW;

pub(crate) async fn run(
    agent: &mut Agent,
    rest: &str,
    ui: &mut dyn Frontend,
    cancel: &CancellationToken,
) -> Result<Outcome, AgentError> {
    let rest = rest.trim();
    let (name, args) = match rest.split_once(char::is_whitespace) {
        Some((name, args)) => (name, args.trim()),
        None => (rest, ""),
    };
    let commands = commands_with_defaults(&agent.options.settings.commands);
    if name.is_empty() {
        let list: Vec<String> = commands
            .iter()
            .map(|c| format!("  {:<12} {}", c.name, c.description))
            .collect();
        return refuse(
            ui,
            format!(
                "usage: /run NAME [ARGS]; the commands are (define more as [[commands]] in \
                 config.toml):\n{}",
                list.join("\n")
            ),
        );
    }
    let command = match find_command(&commands, name) {
        Ok(command) => command.clone(),
        Err(e) => return refuse(ui, e.to_string()),
    };
    let window = agent.model.context_window().unwrap_or(UNKNOWN_WINDOW);
    let rendered = match render_command(
        &command,
        args,
        agent.conversation.session().name.as_str(),
        agent.conversation.live(),
        PromptLimits::for_window(window).transcript_bytes,
    ) {
        Ok(rendered) => rendered,
        Err(e) => return refuse(ui, e.to_string()),
    };
    if rendered.output == CommandOutput::Append && !rendered.embeds_context {
        return crate::turn::run(agent, rendered.prompt, ui, cancel).await;
    }

    if let Some(hit) = spending::check(
        &agent.options.settings,
        agent.spent_since_checkpoint(),
        None,
    ) {
        ui.event(AgentEvent::Error {
            kind: "spending_limit".into(),
            message: format!(
                "/run {name} was not sent: {}",
                hit.message(agent.conversation.session().name.as_str())
            ),
        });
        let reason = StopCause::SpendingLimit;
        return Ok(done(ui, reason.as_str(), Outcome::Stopped { reason }));
    }
    let model = agent.model.clone();
    let prompt = Message::text(Role::User, rendered.prompt);
    let request = if rendered.embeds_context {
        ChatRequest::new(model.to_string()).with_messages(vec![prompt])
    } else {
        // Like a turn: system prompt, tools (providers want them when the history
        // holds tool calls) and the live context, then the command's prompt.
        let mut request = crate::request::build(agent).await?;
        request.messages.push(prompt);
        request
    };
    ui.event(AgentEvent::RequestStarted {
        model: model.to_string(),
    });
    let answered = tokio::select! {
        biased;
        _ = cancel.cancelled() => None,
        answered = agent.options.llm.complete(request) => Some(answered),
    };
    let Some(answered) = answered else {
        ui.event(AgentEvent::Notice {
            message: format!(
                "/run {name} was interrupted before the answer arrived; nothing changed: the \
                 live context is as it was"
            ),
        });
        ui.event(AgentEvent::Interrupted {
            partial_kept: false,
        });
        return Ok(done(ui, "interrupted", Outcome::Interrupted));
    };
    let response = match answered {
        Ok(response) => response,
        Err(e) => {
            let kind = e.kind().as_str().to_owned();
            ui.event(AgentEvent::Error {
                kind: kind.clone(),
                message: format!("/run {name}: {e}"),
            });
            return Ok(done(ui, "error", Outcome::Failed { kind }));
        }
    };
    let spent = compress::spend(agent, ui, &model, &response);
    let answer = response.text();

    if rendered.output == CommandOutput::Append {
        let mut asked = Message::text(Role::User, format!("/run {rest}"));
        asked.command = Some(name.to_owned());
        let mut answered = response.into_message();
        answered.cost_usd = Some(spent.cost_usd);
        agent
            .append(vec![
                cairn_core::Payload::Message(asked),
                cairn_core::Payload::Message(answered),
            ])
            .await?;
        agent.refresh_session().await?;
        ui.event(AgentEvent::CommandOutput {
            command: "run".into(),
            text: answer.clone(),
            data: json!({"command": name, "output": "append", "answer": answer}),
        });
        crate::pressure::after_turn(agent, ui).await?;
        return Ok(done(ui, "command", Outcome::Command));
    }

    // output = "replace": the answer stands for the whole live context.
    let plan = match compress::plan_whole(agent).await? {
        Ok(plan) => plan,
        Err(no) => {
            let reason = format!("/run {name}: nothing to replace: {}", no.reason);
            compress::record_spend_without_compaction(agent, &spent, &reason).await?;
            return refuse(ui, reason);
        }
    };
    let kept = retained_knowledge(agent.conversation.live());
    let retention = agent.options.settings.compression.knowledge_retention;
    let counter = agent.context.counter();
    let mut draft =
        match compaction_from_command_answer(&plan, name, &answer, &kept, retention, &counter) {
            Ok(draft) => draft,
            Err(rejected) => {
                let reason = format!(
                    "the answer of /run {name} was not used ({rejected}); the live context is \
                 unchanged"
                );
                compress::record_spend_without_compaction(agent, &spent, &reason).await?;
                return refuse(ui, reason);
            }
        };
    draft.record_compressor(
        &spent.model,
        &spent.usage,
        Some(spent.cost_usd),
        spent.request_id.as_deref(),
    );
    let [first, last] = draft.compaction.replaces;
    let (before, after) = (draft.compaction.tokens_before, draft.tokens_after);
    let seq = compress::apply(agent, draft).await?;
    ui.event(AgentEvent::CommandOutput {
        command: "run".into(),
        text: format!(
            "the answer of /run {name} is now the live context: {} → {} tokens (events \
             #{first}–#{last} replaced; the history keeps every event)\n\n{}",
            grouped(before),
            grouped(after),
            answer.trim()
        ),
        data: json!({
            "command": name,
            "output": "replace",
            "compaction_seq": seq,
            "replaces": [first, last],
            "tokens_before": before,
            "tokens_after": after,
            "answer": answer,
        }),
    });
    Ok(done(ui, "command", Outcome::Command))
}

fn refuse(ui: &mut dyn Frontend, message: String) -> Result<Outcome, AgentError> {
    ui.event(AgentEvent::Error {
        kind: "command".into(),
        message,
    });
    Ok(done(ui, "command", Outcome::Command))
}

fn done(ui: &mut dyn Frontend, stop_reason: &str, outcome: Outcome) -> Outcome {
    ui.event(AgentEvent::Done {
        stop_reason: stop_reason.to_owned(),
    });
    outcome
}
