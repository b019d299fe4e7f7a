//! Context compression through the real binary: `/done` in `cairn run` writes a
//! checkpoint that `cairn where` and an MCP client (the official Python SDK) see;
//! the export keeps every original event next to the compaction; `sessions context`
//! shows the summary, the knowledge block and the compaction boundary; a bad
//! pressure level in config.toml is refused with its key.

use cairn_testkit::cli::Cairn;
use cairn_testkit::external::run_mcp_script;
use cairn_testkit::fake_llm::{FakeLlm, Turn, notes};
use cairn_testkit::home::TestHome;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_cairn");

fn cairn(home: &TestHome, fake: &FakeLlm) -> Cairn {
    Cairn::new(BIN, home).with_fake_openai(fake)
}

fn summary_turn() -> Turn {
    Turn::summary(&json!({
        "goal": "write the expression parser",
        "progress": "skeleton written",
        "decisions": ["precedence climbing, not a generator"],
        "files": [{"path": "src/parser.rs", "role": "the parser"}],
        "next_steps": ["add error recovery"],
        "knowledge": [{"kind": "constraint", "text": "parse errors carry line and column"}],
    }))
}

#[test]
fn done_writes_a_checkpoint_that_where_and_mcp_return_and_export_keeps_everything() {
    let home = TestHome::with_git();
    std::fs::write(
        home.config_file(),
        "[compression]\nhints_enabled = true\nknowledge_retention = 10\n\n\
         [[compression.pressure_levels]]\nthreshold = 50000\ntarget_ratio = 2.0\n",
    )
    .unwrap();
    // Answers long enough that a summary is much smaller than the conversation.
    let first = format!(
        "The skeleton is written: src/parser.rs holds parse(). {}",
        notes(300)
    );
    let second = format!("Precedence climbing it is. {}", notes(300));
    let fake = FakeLlm::start([
        Turn::text(first.clone()),
        Turn::text(second.clone()),
        summary_turn(),
    ])
    .unwrap();
    let c = cairn(&home, &fake);
    c.run(["run", "--name", "parser", "-p", "write the parser skeleton"])
        .success();
    c.run([
        "run",
        "--resume",
        "parser",
        "-p",
        "/remember decision: no parser generator",
    ])
    .success()
    .stdout_has(&["remembered [decision] no parser generator"]);
    c.run(["run", "--resume", "parser", "-p", "which algorithm?"])
        .success();
    let done = c.run(["run", "--resume", "parser", "-p", "/done skeleton finished"]);
    done.success().stdout_has(&[
        "compressed the live context (/done)",
        "checkpoint saved: session parser, round 1",
    ]);
    // The compressor got the transcript and the knowledge kept.
    let asked = fake.requests()[2].body.to_string();
    assert!(asked.contains("Knowledge kept"), "{asked}");
    assert!(asked.contains("no parser generator"), "{asked}");

    // `cairn where` shows the checkpoint.
    let found = c.run(["where", "parser", "--json"]);
    found.success();
    let found = found.json();
    let checkpoint = &found["latest_checkpoint"];
    assert!(
        checkpoint["summary"]
            .as_str()
            .unwrap()
            .starts_with("skeleton finished"),
        "{found}"
    );
    let decisions = checkpoint["decisions_made"].as_array().unwrap();
    assert!(decisions.contains(&json!("precedence climbing, not a generator")));
    assert!(decisions.contains(&json!("no parser generator")));

    // The export keeps every original message, then the compaction and the new item.
    let export = c.run(["sessions", "export", "parser"]);
    export.success();
    let lines: Vec<Value> = export
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    let messages: Vec<String> = lines[1..]
        .iter()
        .filter(|l| l["kind"] == "message")
        .map(|l| l["content"][0]["text"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        messages,
        vec![
            "write the parser skeleton".to_owned(),
            first,
            "which algorithm?".to_owned(),
            second,
        ],
        "{kinds:?}"
    );
    let compaction = lines
        .iter()
        .find(|l| l["kind"] == "compaction")
        .expect("a compaction line");
    let last_before = compaction["seq"].as_u64().unwrap() - 1;
    assert_eq!(compaction["replaces"], json!([1, last_before]));
    assert_eq!(compaction["method"], "model");
    assert_eq!(compaction["usage"]["input_tokens"], 800);
    assert!(lines.iter().any(|l| l["kind"] == "knowledge"
        && l["text"] == "parse errors carry line and column"
        && l["pinned"] == false));

    // `sessions context` shows the summary and the knowledge block; `--all` marks
    // where the live context starts.
    c.run(["sessions", "context", "parser"])
        .success()
        .stdout_has(&[
            "write the expression parser",
            "## Knowledge to respect",
            "[decision] no parser generator",
            "[constraint] parse errors carry line and column",
        ]);
    c.run(["sessions", "context", "parser", "--all"])
        .success()
        .stdout_has(&["live context starts here", "write the parser skeleton"]);

    // An MCP client sees the same checkpoint through where_was_i and get_progress.
    let stdout = run_mcp_script(
        "where_after_done.py",
        BIN,
        &home,
        &[
            "--",
            "parser",
            "skeleton finished",
            "write the expression parser",
            "precedence climbing, not a generator",
        ],
    );
    assert!(stdout.contains("PASSED 7 checks"), "{stdout}");
}

#[test]
fn a_pressure_level_that_cannot_work_is_refused_with_its_key() {
    let home = TestHome::new();
    std::fs::write(
        home.config_file(),
        "[[compression.pressure_levels]]\nthreshold = 50000\ntarget_ratio = 1.0\n",
    )
    .unwrap();
    let fake = FakeLlm::start([]).unwrap();
    cairn(&home, &fake)
        .run(["run", "--name", "x", "-p", "hi"])
        .code(2)
        .stderr_has(&[
            "compression.pressure_levels[1].target_ratio",
            "greater than 1",
        ]);
    assert!(fake.requests().is_empty());
}
