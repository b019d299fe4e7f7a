//! Runs the scripted fake LLM server outside Rust tests (for Python SDK checks and
//! manual runs): `fake-llm SCRIPT.json` prints `http://127.0.0.1:PORT` on one line,
//! then serves until its standard input closes. The script is a JSON array of turns
//! (see `cairn_testkit::fake_llm::Turn`).

use std::io::{BufRead, Write};
use std::process::ExitCode;

use cairn_testkit::fake_llm::{FakeLlm, Turn};

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: fake-llm SCRIPT.json");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("fake-llm: cannot read {path}: {e}");
            return ExitCode::from(1);
        }
    };
    let turns: Vec<Turn> = match serde_json::from_str(&text) {
        Ok(turns) => turns,
        Err(e) => {
            eprintln!("fake-llm: {path}: not a JSON array of turns: {e}");
            return ExitCode::from(1);
        }
    };
    let server = match FakeLlm::start(turns) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("fake-llm: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    println!("{}", server.url());
    let _ = std::io::stdout().flush();
    // Serve until stdin closes (the parent process ends or closes the pipe).
    for line in std::io::stdin().lock().lines() {
        if line.is_err() {
            break;
        }
    }
    ExitCode::SUCCESS
}
