//! cairn's tool calls as ACP shows them: the kind (read, edit, search, execute…), a
//! title a person reads at a glance, and the project files they touch.

use std::path::Path;

use agent_client_protocol::v1::schema::{
    ContentBlock, TextContent, ToolCall, ToolCallContent, ToolCallLocation, ToolCallStatus,
    ToolCallUpdate, ToolCallUpdateFields, ToolKind,
};
use cairn_agent::tools;
use serde_json::Value;

/// The ACP kind of a cairn tool.
pub(crate) fn kind(name: &str) -> ToolKind {
    match name {
        tools::READ_FILE => ToolKind::Read,
        tools::WRITE_FILE | tools::EDIT_FILE | "write_at" => ToolKind::Edit,
        tools::LIST_FILES | tools::SEARCH => ToolKind::Search,
        tools::SHELL => ToolKind::Execute,
        "remember" => ToolKind::Think,
        _ => ToolKind::Other,
    }
}

/// `read_file src/auth.rs`, `shell: cargo test`, … (the name alone while the
/// arguments are still streaming).
pub(crate) fn title(name: &str, input: Option<&Value>) -> String {
    let field = |key: &str| input.and_then(|i| i.get(key)).and_then(Value::as_str);
    let detail = match name {
        tools::SHELL => field("command").map(|c| format!("shell: {}", one_line(c))),
        tools::SEARCH => field("pattern").map(|p| format!("search {}", one_line(p))),
        "delegate" => field("task").map(|t| format!("delegate: {}", one_line(t))),
        _ => field("path").map(|p| format!("{name} {}", one_line(p))),
    };
    detail.unwrap_or_else(|| name.to_owned())
}

/// The project file a call works on, for the editor to follow.
pub(crate) fn locations(root: &Path, input: &Value) -> Vec<ToolCallLocation> {
    let Some(path) = input.get("path").and_then(Value::as_str) else {
        return Vec::new();
    };
    let mut location = ToolCallLocation::new(root.join(path));
    if let Some(line) = input
        .get("start_line")
        .and_then(Value::as_u64)
        .and_then(|l| u32::try_from(l).ok())
    {
        location = location.line(line);
    }
    vec![location]
}

/// The model began a call; its arguments are still streaming.
pub(crate) fn started(id: &str, name: &str) -> ToolCall {
    ToolCall::new(id.to_owned(), title(name, None))
        .kind(kind(name))
        .status(ToolCallStatus::Pending)
}

/// The call is complete and about to run.
pub(crate) fn running(root: &Path, id: &str, name: &str, input: &Value) -> ToolCallUpdate {
    ToolCallUpdate::new(
        id.to_owned(),
        ToolCallUpdateFields::new()
            .title(title(name, Some(input)))
            .kind(kind(name))
            .status(ToolCallStatus::InProgress)
            .locations(locations(root, input))
            .raw_input(input.clone()),
    )
}

/// What the call returned (as the model sees it).
pub(crate) fn finished(id: &str, content: &str, is_error: bool) -> ToolCallUpdate {
    let status = if is_error {
        ToolCallStatus::Failed
    } else {
        ToolCallStatus::Completed
    };
    ToolCallUpdate::new(
        id.to_owned(),
        ToolCallUpdateFields::new()
            .status(status)
            .content(vec![text_content(content)]),
    )
}

/// A complete call, for replay: already run, with its result when it has one.
pub(crate) fn replayed(
    root: &Path,
    id: &str,
    name: &str,
    input: &Value,
    result: Option<(&str, bool)>,
) -> ToolCall {
    let status = match result {
        Some((_, true)) => ToolCallStatus::Failed,
        Some((_, false)) => ToolCallStatus::Completed,
        None => ToolCallStatus::Pending,
    };
    let call = ToolCall::new(id.to_owned(), title(name, Some(input)))
        .kind(kind(name))
        .status(status)
        .locations(locations(root, input))
        .raw_input(input.clone());
    match result {
        Some((text, _)) => call.content(vec![text_content(text)]),
        None => call,
    }
}

pub(crate) fn text_content(text: &str) -> ToolCallContent {
    ToolCallContent::from(ContentBlock::Text(TextContent::new(text.to_owned())))
}

fn one_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    let mut out: String = line.chars().take(120).collect();
    if line.chars().count() > 120 || text.lines().nth(1).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn titles_name_the_target() {
        assert_eq!(
            title("shell", Some(&json!({"command": "cargo test\nmore"}))),
            "shell: cargo test…"
        );
        assert_eq!(
            title("read_file", Some(&json!({"path": "src/a.rs"}))),
            "read_file src/a.rs"
        );
        assert_eq!(title("read_file", None), "read_file");
        assert_eq!(kind("edit_file"), ToolKind::Edit);
        assert_eq!(kind("shell"), ToolKind::Execute);
    }

    #[test]
    fn locations_are_inside_the_root() {
        let found = locations(
            Path::new("/p"),
            &json!({"path": "src/a.rs", "start_line": 3}),
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].path, Path::new("/p/src/a.rs"));
        assert_eq!(found[0].line, Some(3));
    }
}
