//! `[[commands]]`, run with `/run NAME [ARGS]`: the shipped defaults (`reduce`) and
//! prompt templates.
//!
//! A template is text with placeholders in braces:
//!
//! | placeholder   | becomes |
//! |---------------|---------|
//! | `{args}`      | the text after `/run NAME` (empty when none) |
//! | `{context}`   | the live context as a transcript (summary, knowledge, messages; long outputs cut) |
//! | `{knowledge}` | the knowledge block (`(none)` when empty) |
//! | `{session}`   | the session's name |
//!
//! `{{` and `}}` stand for literal braces; any other placeholder is refused when the
//! command is checked. A template with `{context}` is sent alone, as one user
//! message (useful with a different, cheaper model); a template without it is sent as
//! the next user message after the live context, like a normal turn. With
//! `output = "replace"` the answer becomes the new live context as a compaction (the
//! history keeps every event); with `"append"` it is an ordinary answer.

use crate::compression::plan::CompressionPlan;
use crate::compression::summary::{CompactionDraft, SummaryMethod, SummaryRejected, draft};
use crate::compression::transcript::{TranscriptLimits, render_event, tool_names};
use cairn_core::knowledge::{KnowledgeRecord, render_block};
use cairn_core::live_messages::{preamble_text, retained_knowledge};
use cairn_core::settings::{CommandDef, CommandOutput};
use cairn_core::tokens::TokenCounter;
use cairn_core::{Error, LiveContext, Result};

pub const PLACEHOLDERS: [&str; 4] = ["args", "context", "knowledge", "session"];

/// The default `reduce` command's prompt.
pub const REDUCE_PROMPT: &str = "Rewrite this whole conversation as a compact working brief \
that will replace it as the context for the rest of the session (the full history stays on \
disk). Keep only what the work needs from here on: the goal; every decision still in force, \
with its reason; constraints and user preferences; the files involved and their roles; what \
was tried and failed; open problems; the next steps, in order. Be specific: names, paths, \
commands, numbers, error messages. Drop tool output already acted upon, dead ends and \
pleasantries. Write plain markdown with short sections and no preamble.\n\n{args}";

/// `reduce`: rewrite the live context as a brief and make it the new context.
pub fn default_reduce() -> CommandDef {
    CommandDef {
        name: "reduce".to_owned(),
        description: "rewrite the live context as a compact brief that replaces it".to_owned(),
        prompt: REDUCE_PROMPT.to_owned(),
        output: CommandOutput::Replace,
    }
}

/// The commands `/run` knows: the shipped defaults, then the configured ones (a
/// configured command replaces a default of the same name).
pub fn commands_with_defaults(configured: &[CommandDef]) -> Vec<CommandDef> {
    let mut all: Vec<CommandDef> = vec![default_reduce()];
    for command in configured {
        all.retain(|c| c.name != command.name);
        all.push(command.clone());
    }
    all
}

/// The command called `name`; the error lists the known names.
pub fn find_command<'a>(commands: &'a [CommandDef], name: &str) -> Result<&'a CommandDef> {
    commands.iter().find(|c| c.name == name).ok_or_else(|| {
        let names: Vec<&str> = commands.iter().map(|c| c.name.as_str()).collect();
        Error::invalid(format!(
            "no command {name:?}; /run knows: {} (define more as [[commands]] in config)",
            names.join(", ")
        ))
    })
}

/// Check a command's name and template (for config loading and `/run`).
pub fn check_command(command: &CommandDef) -> Result<()> {
    if command.name.trim().is_empty() || command.name.contains(char::is_whitespace) {
        return Err(Error::invalid(format!(
            "[[commands]] name {:?}: a command name is one word",
            command.name
        )));
    }
    if command.prompt.trim().is_empty() {
        return Err(Error::invalid(format!(
            "[[commands]] {:?}: prompt is empty",
            command.name
        )));
    }
    parse_template(&command.prompt)
        .map(|_| ())
        .map_err(|e| Error::invalid(format!("[[commands]] {:?}: prompt: {e}", command.name)))
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece<'a> {
    Literal(&'a str),
    Brace(char),
    Placeholder(&'a str),
}

fn parse_template(template: &str) -> std::result::Result<Vec<Piece<'_>>, String> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(pos) = rest.find(['{', '}']) {
        if pos > 0 {
            pieces.push(Piece::Literal(&rest[..pos]));
        }
        let after = &rest[pos..];
        if let Some(next) = after.strip_prefix("{{") {
            pieces.push(Piece::Brace('{'));
            rest = next;
        } else if let Some(next) = after.strip_prefix("}}") {
            pieces.push(Piece::Brace('}'));
            rest = next;
        } else if after.starts_with('}') {
            return Err("a lone '}' (write '}}' for a literal brace)".to_owned());
        } else {
            let Some(end) = after.find('}') else {
                return Err("a '{' is never closed (write '{{' for a literal brace)".to_owned());
            };
            let name = &after[1..end];
            if !PLACEHOLDERS.contains(&name) {
                return Err(format!(
                    "unknown placeholder {{{name}}}; known: {{args}}, {{context}}, {{knowledge}}, {{session}}"
                ));
            }
            pieces.push(Piece::Placeholder(name));
            rest = &after[end + 1..];
        }
    }
    if !rest.is_empty() {
        pieces.push(Piece::Literal(rest));
    }
    Ok(pieces)
}

/// A command's prompt, filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedCommand {
    pub prompt: String,
    /// The prompt carries the live context itself (`{context}`): send it alone.
    /// Otherwise send it after the live context.
    pub embeds_context: bool,
    pub output: CommandOutput,
}

/// Fill in a command's template. `transcript_bytes` bounds `{context}`.
pub fn render_command(
    command: &CommandDef,
    args: &str,
    session_name: &str,
    live: &LiveContext,
    transcript_bytes: usize,
) -> Result<RenderedCommand> {
    let pieces = parse_template(&command.prompt)
        .map_err(|e| Error::invalid(format!("[[commands]] {:?}: prompt: {e}", command.name)))?;
    let embeds_context = pieces.contains(&Piece::Placeholder("context"));
    let mut prompt = String::new();
    for piece in pieces {
        match piece {
            Piece::Literal(text) => prompt.push_str(text),
            Piece::Brace(c) => prompt.push(c),
            Piece::Placeholder("args") => prompt.push_str(args.trim()),
            Piece::Placeholder("session") => prompt.push_str(session_name),
            Piece::Placeholder("knowledge") => prompt.push_str(
                &render_block(&retained_knowledge(live)).unwrap_or_else(|| "(none)".to_owned()),
            ),
            Piece::Placeholder(_) => prompt.push_str(&live_transcript(live, transcript_bytes)),
        }
    }
    Ok(RenderedCommand {
        prompt: prompt.trim_end().to_owned(),
        embeds_context,
        output: command.output,
    })
}

/// The live context as text: its preamble, then its messages (oldest left out first
/// when over `max_bytes`).
pub fn live_transcript(live: &LiveContext, max_bytes: usize) -> String {
    let names = tool_names(&live.events);
    let mut out = preamble_text(live).unwrap_or_default();
    let rendered: Vec<String> = live
        .events
        .iter()
        .map(|e| render_event(e, &TranscriptLimits::GENEROUS, &names))
        .collect();
    let budget = max_bytes.saturating_sub(out.len());
    let mut total: usize = rendered.iter().map(String::len).sum();
    let mut skip = 0;
    while total > budget && skip < rendered.len() {
        total -= rendered[skip].len();
        skip += 1;
    }
    if skip > 0 {
        out.push_str(&format!("\n[{skip} older events left out for length]\n"));
    }
    for piece in &rendered[skip..] {
        out.push_str(piece);
    }
    out
}

/// The compaction made from a `replace` command's answer (the plan is usually
/// [`crate::compression::plan_all`]). A blank answer, or one that does not shrink the
/// context, is refused and nothing changes.
pub fn compaction_from_command_answer(
    plan: &CompressionPlan,
    command_name: &str,
    answer: &str,
    kept: &[KnowledgeRecord],
    retention: usize,
    counter: &TokenCounter,
) -> std::result::Result<CompactionDraft, SummaryRejected> {
    let mut d = draft(
        plan,
        answer.trim().to_owned(),
        kept,
        &[],
        retention,
        counter,
        SummaryMethod::Command,
        None,
    )?;
    d.compaction.command = Some(command_name.to_owned());
    Ok(d)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use cairn_core::{Event, Message, Payload, Project, Role, Session, SessionName, SessionStatus};

    /// A live context of one user message (seq 1) and no knowledge.
    pub(crate) fn live() -> LiveContext {
        let now = jiff::Timestamp::UNIX_EPOCH;
        LiveContext {
            session: Session {
                id: ulid::Ulid::nil(),
                name: SessionName::parse("s").unwrap(),
                title: None,
                project: Project::from_stored("/tmp/p"),
                parent_id: None,
                fork_seq: None,
                model: None,
                status: SessionStatus::Active,
                created_at: now,
                updated_at: now,
                usage: Default::default(),
                cost_usd: 0.0,
                spend_checkpoint_usd: 0.0,
                live_tokens: 0,
                head_seq: 1,
                context_start_seq: 1,
                compaction_seq: None,
                live_gaps: Vec::new(),
                message_count: 1,
                tool_call_count: 0,
                compaction_count: 0,
            },
            compaction: None,
            events: vec![Event {
                seq: 1,
                ts: now,
                payload: Payload::Message(Message::text(Role::User, "make the build green")),
            }],
            knowledge: vec![],
        }
    }

    #[test]
    fn reduce_is_shipped_and_can_be_overridden() {
        let all = commands_with_defaults(&[]);
        let reduce = find_command(&all, "reduce").unwrap();
        assert_eq!(reduce.output, CommandOutput::Replace);
        check_command(reduce).unwrap();
        let mine = CommandDef {
            name: "reduce".into(),
            description: String::new(),
            prompt: "shorter: {args}".into(),
            output: CommandOutput::Append,
        };
        let all = commands_with_defaults(&[mine]);
        assert_eq!(all.len(), 1);
        assert_eq!(
            find_command(&all, "reduce").unwrap().prompt,
            "shorter: {args}"
        );
        let err = find_command(&all, "nope").unwrap_err().to_string();
        assert!(err.contains("reduce"), "{err}");
    }

    #[test]
    fn templates_fill_placeholders_and_refuse_unknown_ones() {
        let command = CommandDef {
            name: "review".into(),
            description: String::new(),
            prompt: "Session {session}; as JSON {{\"a\": 1}}. {args}\n---\n{context}".into(),
            output: CommandOutput::Append,
        };
        check_command(&command).unwrap();
        let r = render_command(&command, " strictly ", "s", &live(), 10_000).unwrap();
        assert!(r.embeds_context);
        assert!(
            r.prompt.starts_with(
                "Session s; as JSON {\"a\": 1}. strictly\n---\n[#1 user] make the build green"
            ),
            "{}",
            r.prompt
        );
        let reduce = render_command(&default_reduce(), "", "s", &live(), 10_000).unwrap();
        assert!(!reduce.embeds_context);
        assert!(reduce.prompt.ends_with("no preamble."), "{}", reduce.prompt);

        for (bad, expected) in [
            ("{ctx}", "unknown placeholder {ctx}"),
            ("a } b", "lone '}'"),
            ("a { b", "never closed"),
            ("   ", "prompt is empty"),
        ] {
            let command = CommandDef {
                name: "x".into(),
                description: String::new(),
                prompt: bad.into(),
                output: CommandOutput::Append,
            };
            let err = check_command(&command).unwrap_err().to_string();
            assert!(err.contains(expected), "{bad:?}: {err}");
        }
    }
}
