//! `/help`: the commands and what they do.

use serde_json::json;

use super::{COMMANDS, Output};

pub(super) fn run() -> Option<Output> {
    let width = COMMANDS
        .iter()
        .map(|c| usage(c.name, c.args).chars().count())
        .max()
        .unwrap_or(0);
    let mut text = String::from("Commands:\n");
    for c in COMMANDS {
        let u = usage(c.name, c.args);
        let pad = width - u.chars().count();
        text.push_str(&format!("  {u}{}  {}\n", " ".repeat(pad), c.description));
    }
    text.push_str("Anything else is sent to the model.");
    let data = json!(COMMANDS
        .iter()
        .map(|c| json!({"name": format!("/{}", c.name), "args": c.args, "description": c.description}))
        .collect::<Vec<_>>());
    Output::new(text, data)
}

fn usage(name: &str, args: &str) -> String {
    if args.is_empty() {
        format!("/{name}")
    } else {
        format!("/{name} {args}")
    }
}
