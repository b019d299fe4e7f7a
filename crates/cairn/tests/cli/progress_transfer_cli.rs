//! `cairn progress export` / `import`: checkpoints and pool history move between
//! stores, all or nothing, and importing twice adds nothing.

use cairn_testkit::cli::Cairn;
use cairn_testkit::home::TestHome;
use serde_json::Value;

fn cairn(home: &TestHome) -> Cairn {
    Cairn::new(env!("CARGO_BIN_EXE_cairn"), home)
}

fn rounds(c: &Cairn, id: &str) -> Value {
    c.run(["progress", "get", id, "--all", "--json"])
        .success()
        .json()
}

#[test]
fn progress_moves_to_another_store_once_and_a_bad_file_moves_nothing() {
    let from = TestHome::new();
    let a = cairn(&from);
    for summary in ["first round", "second round"] {
        a.run([
            "progress",
            "save",
            "auth-v2",
            "--summary",
            summary,
            "--next",
            "tests",
        ])
        .success();
    }
    a.run(["progress", "save", "billing", "--summary", "invoices"])
        .success();
    a.run([
        "pool",
        "signal",
        "claimed",
        "auth-refresh",
        "--summary",
        "taking the token refresh",
    ])
    .success();
    let file = from.root().join("progress.jsonl");
    a.run(["progress", "export", "-o", file.to_str().unwrap()])
        .success()
        .stderr_has(&["3 checkpoint(s) and 1 pool signal(s)"]);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with(r#"{"format":"cairn.progress","version":1}"#),
        "{text}"
    );
    // Only one session id: its rounds, not the others'.
    let one = a.run(["progress", "export", "billing"]);
    one.success();
    assert_eq!(one.stdout.lines().count(), 2, "{}", one.stdout);

    let to = TestHome::new();
    let b = cairn(&to);
    // A bad line refuses the whole file, naming the line; nothing is written.
    let mut lines: Vec<&str> = text.lines().collect();
    let broken = lines[3].replace("\"session_id\":\"", "\"session_id\":\"\\n");
    lines[3] = &broken;
    let bad = to.write_file("bad.jsonl", &(lines.join("\n") + "\n"));
    b.run(["progress", "import", bad.to_str().unwrap()])
        .code(2)
        .stderr_has(&["line 4", "session_id"]);
    b.run(["progress", "get", "auth-v2"]).code(3);

    let out = b.run(["progress", "import", file.to_str().unwrap(), "--json"]);
    let done = out.success().json();
    assert_eq!(done["checkpoints_added"], 3);
    assert_eq!(done["signals_added"], 1);
    assert_eq!(rounds(&b, "auth-v2"), rounds(&a, "auth-v2"));
    assert_eq!(rounds(&b, "billing"), rounds(&a, "billing"));
    let again = b
        .run(["progress", "import", file.to_str().unwrap(), "--json"])
        .success()
        .json();
    assert_eq!(again["checkpoints_added"], 0);
    assert_eq!(again["checkpoints_present"], 3);
    assert_eq!(again["signals_added"], 0);
    assert_eq!(again["signals_present"], 1);
    // Rounds go on from the imported ones.
    b.run(["progress", "save", "auth-v2", "--summary", "third round"])
        .success();
    let all = rounds(&b, "auth-v2");
    let ids: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["round_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["1", "2", "3"]);
    let status = b.run(["pool", "status", "--all", "--json"]);
    status.success();
    assert!(
        status.stdout.contains("taking the token refresh"),
        "{}",
        status.stdout
    );
}
