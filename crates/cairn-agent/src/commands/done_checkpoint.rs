//! `/done [NOTE]`: after the compression, the same checkpoint record `save_progress`
//! writes (summary, files touched, decisions, next steps), so `where_was_i`,
//! `get_progress` and every MCP client see the chat session's progress.

use serde_json::Value;

use cairn_core::compression::summary::StructuredSummary;
use cairn_core::compression::transcript::cut_middle;
use cairn_core::event::KnowledgeEntry;
use cairn_core::knowledge::normalized;
use cairn_core::{Event, KnowledgeKind, NewCheckpoint, Project, Role};

/// Client name recorded on checkpoints written by the chat agent.
pub(crate) const DONE_CLIENT: &str = "cairn";

/// Everything `/done` knows when it writes the checkpoint.
#[derive(Clone, Debug)]
pub(crate) struct DoneInput<'a> {
    /// The chat session's name: checkpoints of a chat session use it as session id.
    pub(crate) session_name: &'a str,
    pub(crate) project: &'a Project,
    /// The NOTE of `/done NOTE`.
    pub(crate) note: Option<&'a str>,
    /// The checked model summary; `None` when the compression fell back to the
    /// extractive summary.
    pub(crate) summary: Option<&'a StructuredSummary>,
    /// The events the compression covered (for files touched and, without a model
    /// summary, the last answer).
    pub(crate) events: &'a [Event],
    /// The knowledge kept after the compression (its decisions are listed).
    pub(crate) knowledge: &'a [KnowledgeEntry],
    pub(crate) instance: Option<&'a str>,
}

/// The checkpoint `/done` saves (`round_id: None`: the store numbers it).
pub(crate) fn checkpoint_from_done(input: &DoneInput<'_>) -> NewCheckpoint {
    let mut summary_parts: Vec<String> = Vec::new();
    if let Some(note) = input.note.map(str::trim).filter(|n| !n.is_empty()) {
        summary_parts.push(note.to_owned());
    }
    match input.summary {
        Some(s) => {
            summary_parts.push(s.goal.clone());
            if !s.progress.is_empty() {
                summary_parts.push(s.progress.clone());
            }
            if !s.open_problems.is_empty() {
                summary_parts.push(format!("Open problems: {}", s.open_problems.join("; ")));
            }
        }
        None => {
            if let Some(last) = last_assistant_text(input.events) {
                summary_parts.push(format!("Last answer: {}", cut_middle(&last, 1_500)));
            }
        }
    }
    if summary_parts.is_empty() {
        summary_parts.push("Marked done with /done.".to_owned());
    }

    let mut decisions: Vec<String> = input
        .summary
        .map(|s| s.decisions.clone())
        .unwrap_or_default();
    for entry in input.knowledge {
        if entry.kind == KnowledgeKind::Decision {
            decisions.push(entry.text.clone());
        }
    }

    let mut files: Vec<String> = input
        .summary
        .map(|s| s.files.iter().map(|f| f.path.clone()).collect())
        .unwrap_or_default();
    files.extend(files_touched(input.events));

    NewCheckpoint {
        session_id: input.session_name.to_owned(),
        project: input.project.clone(),
        summary: summary_parts.join("\n\n"),
        files_touched: distinct(files, |f| f.trim().to_owned()),
        decisions_made: distinct(decisions, normalized),
        next_steps: input
            .summary
            .map(|s| s.next_steps.clone())
            .unwrap_or_default(),
        round_id: None,
        client: Some(DONE_CLIENT.to_owned()),
        instance: input.instance.map(str::to_owned),
    }
}

fn distinct(items: Vec<String>, key: impl Fn(&str) -> String) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for item in items {
        let k = key(&item);
        if k.is_empty() || seen.contains(&k) {
            continue;
        }
        seen.push(k);
        out.push(item.trim().to_owned());
    }
    out
}

fn last_assistant_text(events: &[Event]) -> Option<String> {
    events
        .iter()
        .rev()
        .filter_map(|e| e.payload.as_message())
        .filter(|m| m.role == Role::Assistant)
        .map(|m| m.plain_text())
        .find(|t| !t.trim().is_empty())
}

/// Tool names that change files (matched as parts of the name).
const WRITING_TOOLS: [&str; 10] = [
    "write", "edit", "patch", "create", "replace", "apply", "move", "rename", "delete", "remove",
];
/// Argument names that hold a path.
const PATH_KEYS: [&str; 7] = [
    "path",
    "file_path",
    "file",
    "filename",
    "target",
    "destination",
    "paths",
];

/// Paths changed by the tool calls among `events`, in first-touched order: the path
/// arguments of writing tools, and the files named in patch texts.
pub(crate) fn files_touched(events: &[Event]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |path: &str| {
        let path = path.trim();
        if !path.is_empty() && !out.iter().any(|p| p == path) {
            out.push(path.to_owned());
        }
    };
    for message in events.iter().filter_map(|e| e.payload.as_message()) {
        for (_, name, input) in message.tool_uses() {
            let name = name.to_ascii_lowercase();
            if !WRITING_TOOLS.iter().any(|w| name.contains(w)) {
                continue;
            }
            let Value::Object(args) = input else { continue };
            for key in PATH_KEYS {
                match args.get(key) {
                    Some(Value::String(p)) => add(p),
                    Some(Value::Array(items)) => {
                        items.iter().filter_map(Value::as_str).for_each(&mut add)
                    }
                    _ => {}
                }
            }
            for value in args.values().filter_map(Value::as_str) {
                for path in patch_paths(value) {
                    add(path);
                }
            }
        }
    }
    out
}

/// Files named by a unified diff (`+++ b/path`) or an apply-patch text
/// (`*** Update File: path`).
fn patch_paths(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter_map(|line| {
        if let Some(rest) = line.strip_prefix("+++ ") {
            let path = rest.split('\t').next().unwrap_or(rest).trim();
            if path == "/dev/null" {
                return None;
            }
            return Some(path.strip_prefix("b/").unwrap_or(path));
        }
        ["*** Add File: ", "*** Update File: ", "*** Delete File: "]
            .iter()
            .find_map(|p| line.strip_prefix(p))
            .map(str::trim)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::compression::summary::FileRole;
    use cairn_core::{ContentBlock, Message, Payload};

    fn call(seq: u64, name: &str, input: Value) -> Event {
        Event {
            seq,
            ts: jiff::Timestamp::UNIX_EPOCH,
            payload: Payload::Message(Message::new(
                Role::Assistant,
                vec![ContentBlock::ToolUse {
                    id: format!("c{seq}"),
                    name: name.into(),
                    input,
                }],
            )),
        }
    }

    #[test]
    fn files_touched_come_from_writing_tools_and_patches() {
        let events = vec![
            call(
                1,
                "read_file",
                serde_json::json!({"path": "src/read_only.rs"}),
            ),
            call(
                2,
                "write_file",
                serde_json::json!({"path": "src/a.rs", "content": "x"}),
            ),
            call(3, "edit_file", serde_json::json!({"file_path": "src/b.rs"})),
            call(
                4,
                "apply_patch",
                serde_json::json!({"patch": "*** Begin Patch\n*** Update File: src/c.rs\n@@\n-a\n+b\n"}),
            ),
            call(
                5,
                "shell_patch",
                serde_json::json!({"diff": "--- a/src/d.rs\n+++ b/src/d.rs\n@@ -1 +1 @@\n"}),
            ),
            call(6, "write_file", serde_json::json!({"path": "src/a.rs"})),
        ];
        assert_eq!(
            files_touched(&events),
            vec!["src/a.rs", "src/b.rs", "src/c.rs", "src/d.rs"]
        );
    }

    #[test]
    fn done_checkpoint_carries_summary_decisions_files_and_steps() {
        let project = Project::from_stored("/tmp/p");
        let summary = StructuredSummary {
            goal: "Move auth to JWT".into(),
            progress: "Parser written.".into(),
            decisions: vec!["Use RS256".into()],
            files: vec![FileRole {
                path: "src/auth.rs".into(),
                role: "checks".into(),
            }],
            open_problems: vec!["clock skew".into()],
            next_steps: vec!["add middleware".into()],
            ..Default::default()
        };
        let events = vec![call(
            2,
            "write_file",
            serde_json::json!({"path": "src/jwt.rs"}),
        )];
        let knowledge = vec![
            KnowledgeEntry {
                kind: KnowledgeKind::Decision,
                text: "use RS256.".into(),
            },
            KnowledgeEntry {
                kind: KnowledgeKind::Decision,
                text: "tokens live 15 minutes".into(),
            },
        ];
        let cp = checkpoint_from_done(&DoneInput {
            session_name: "auth-refactor",
            project: &project,
            note: Some("parser done"),
            summary: Some(&summary),
            events: &events,
            knowledge: &knowledge,
            instance: None,
        });
        assert_eq!(cp.session_id, "auth-refactor");
        assert_eq!(
            cp.summary,
            "parser done\n\nMove auth to JWT\n\nParser written.\n\nOpen problems: clock skew"
        );
        assert_eq!(
            cp.decisions_made,
            vec!["Use RS256", "tokens live 15 minutes"]
        );
        assert_eq!(cp.files_touched, vec!["src/auth.rs", "src/jwt.rs"]);
        assert_eq!(cp.next_steps, vec!["add middleware"]);
        assert_eq!(cp.client.as_deref(), Some(DONE_CLIENT));
        assert!(cp.round_id.is_none());
    }

    #[test]
    fn done_without_a_model_summary_uses_the_last_answer() {
        let project = Project::from_stored("/tmp/p");
        let events = vec![Event {
            seq: 1,
            ts: jiff::Timestamp::UNIX_EPOCH,
            payload: Payload::Message(Message::text(Role::Assistant, "All tests pass now.")),
        }];
        let cp = checkpoint_from_done(&DoneInput {
            session_name: "s",
            project: &project,
            note: None,
            summary: None,
            events: &events,
            knowledge: &[],
            instance: Some("laptop"),
        });
        assert_eq!(cp.summary, "Last answer: All tests pass now.");
        assert!(cp.next_steps.is_empty());
        assert_eq!(cp.instance.as_deref(), Some("laptop"));
    }
}
