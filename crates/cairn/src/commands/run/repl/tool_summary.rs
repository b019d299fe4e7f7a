//! Tool calls shown compactly: one line for the call (the tool and the argument
//! that says what it touches), one line for the result (size, or the error).

use serde_json::Value;

use crate::output;

/// Arguments that best say what a call is about, most telling first.
const KEY_ARGUMENTS: [&str; 10] = [
    "command", "pattern", "query", "path", "file", "glob", "url", "name", "text", "task",
];

/// Widest a call line's argument part gets before it is cut with `…`.
const MAX_ARGUMENT: usize = 100;

/// `read_file src/auth.rs:10-40`, `shell cargo test`, `search "fn main" in src`.
pub(super) fn call_line(name: &str, input: &Value) -> String {
    let argument = key_argument(input);
    let name = output::cell(name, 40);
    if argument.is_empty() {
        name
    } else {
        format!("{name} {}", output::cell(&argument, MAX_ARGUMENT))
    }
}

fn key_argument(input: &Value) -> String {
    let Some(fields) = input.as_object() else {
        return scalar(input).unwrap_or_default();
    };
    let key = KEY_ARGUMENTS
        .iter()
        .find_map(|k| fields.get(*k).and_then(scalar).map(|v| (*k, v)));
    let Some((key, value)) = key else {
        // No telling argument: the first short scalar, else nothing.
        return fields.values().find_map(scalar).unwrap_or_default();
    };
    // Quoted when a space would blur where the pattern ends.
    let mut shown = match key {
        "pattern" | "query" if value.contains(char::is_whitespace) => format!("{value:?}"),
        _ => value,
    };
    if let Some(range) = line_range(fields) {
        shown.push(':');
        shown.push_str(&range);
    }
    if (key == "pattern" || key == "query")
        && let Some(place) = ["path", "glob"]
            .iter()
            .find_map(|k| fields.get(*k).and_then(scalar))
    {
        shown.push_str(" in ");
        shown.push_str(&place);
    }
    shown
}

/// `10-40`, `10-`, `-40` from the usual range argument names.
fn line_range(fields: &serde_json::Map<String, Value>) -> Option<String> {
    let number = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| fields.get(*k).and_then(Value::as_u64))
    };
    let start = number(&["start_line", "start", "from_line", "offset"]);
    let end = number(&["end_line", "end", "to_line"]);
    match (start, end) {
        (None, None) => None,
        (start, end) => Some(format!(
            "{}-{}",
            start.map(|s| s.to_string()).unwrap_or_default(),
            end.map(|e| e.to_string()).unwrap_or_default()
        )),
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `12 lines, 1.2 KiB`, `3.4 MiB, cut for the model`, `error: no such file`.
pub(super) fn result_line(content: &str, is_error: bool, truncated: bool, bytes: u64) -> String {
    if is_error {
        let first = content.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let more = if content.trim().lines().count() > 1 {
            " …"
        } else {
            ""
        };
        return format!("error: {}{more}", output::cell(first.trim(), MAX_ARGUMENT));
    }
    if truncated {
        return format!("{}, cut for the model", output::bytes(bytes));
    }
    if bytes == 0 {
        return "empty".to_owned();
    }
    let lines = content.lines().count();
    let unit = if lines == 1 { "line" } else { "lines" };
    format!("{lines} {unit}, {}", output::bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn calls_name_what_they_touch() {
        assert_eq!(
            call_line(
                "read_file",
                &json!({"path": "src/auth.rs", "start_line": 10, "end_line": 40})
            ),
            "read_file src/auth.rs:10-40"
        );
        assert_eq!(
            call_line("shell", &json!({"command": "cargo test -p cairn"})),
            "shell cargo test -p cairn"
        );
        assert_eq!(
            call_line("search", &json!({"pattern": "fn main", "path": "src"})),
            "search \"fn main\" in src"
        );
        assert_eq!(
            call_line("list_files", &json!({"glob": "**/*.rs"})),
            "list_files **/*.rs"
        );
        assert_eq!(
            call_line("list_files", &json!({"pattern": "*.md", "path": "docs"})),
            "list_files *.md in docs"
        );
        assert_eq!(call_line("odd_tool", &json!({"depth": 3})), "odd_tool 3");
        assert_eq!(call_line("noop", &json!({})), "noop");
    }

    #[test]
    fn a_call_stays_on_one_line() {
        let line = call_line("shell", &json!({"command": "echo a\necho b\x1b[2J"}));
        assert!(!line.contains('\n') && !line.contains('\x1b'), "{line:?}");
        let long = call_line("write_file", &json!({"path": "x".repeat(500)}));
        assert!(long.chars().count() <= "write_file ".len() + MAX_ARGUMENT);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn results_say_size_or_error() {
        assert_eq!(result_line("a\nb\nc\n", false, false, 6), "3 lines, 6 B");
        assert_eq!(result_line("one", false, false, 3), "1 line, 3 B");
        assert_eq!(result_line("", false, false, 0), "empty");
        assert_eq!(
            result_line("head…", false, true, 3 * 1024 * 1024),
            "3.0 MiB, cut for the model"
        );
        assert_eq!(
            result_line("\nno such file: a.rs\ndetails", true, false, 30),
            "error: no such file: a.rs …"
        );
    }
}
