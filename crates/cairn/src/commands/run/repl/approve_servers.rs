//! The question at the start of an interactive `cairn run` when the project's
//! `.mcp.json` proposes servers the person has not decided on: y (start them in this
//! project's sessions), n (not this time; asked again next session), v (never: not
//! asked again until the file changes).

use std::io::{self, Write};

use cairn_core::mcp_approvals::Decision;
use cairn_core::project_mcp::ProjectServers;
use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::terminal;

use crate::commands::project_servers;
use crate::output::Style;

/// The person's answer: `None` is "not this time".
pub(super) async fn ask(look: Style, servers: &ProjectServers) -> Option<Decision> {
    let mut text = format!(
        "{} proposes MCP servers (programs or endpoints cairn would use as tools):\n",
        servers.file.display()
    );
    for line in project_servers::summary(servers) {
        text.push_str(&format!("  {line}\n"));
    }
    text.push_str("Use them in this project's sessions? [y]es / [n]ot now / ne[v]er ");
    let mut out = io::stdout().lock();
    let _ = out.write_all(look.paint(&text, "1").as_bytes());
    let _ = out.flush();
    drop(out);
    // The REPL runs only with a terminal on stdin: one key answers.
    let answer = tokio::task::spawn_blocking(read_key).await.ok().flatten();
    let shown = match answer {
        Some(Decision::Approved) => "yes\n",
        Some(Decision::Denied) => "never\n",
        None => "not now\n",
    };
    let mut out = io::stdout().lock();
    let _ = out.write_all(shown.as_bytes());
    let _ = out.flush();
    answer
}

fn read_key() -> Option<Decision> {
    terminal::enable_raw_mode().ok()?;
    let answer = loop {
        let key = match event::read() {
            Ok(Event::Key(key)) if key.kind != KeyEventKind::Release => key,
            Ok(_) => continue,
            Err(_) => break None,
        };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('c' | 'd') if ctrl => break None,
            KeyCode::Char('y' | 'Y') => break Some(Decision::Approved),
            KeyCode::Char('v' | 'V') => break Some(Decision::Denied),
            KeyCode::Char('n' | 'N') | KeyCode::Enter | KeyCode::Esc => break None,
            _ => {}
        }
    };
    let _ = terminal::disable_raw_mode();
    answer
}
