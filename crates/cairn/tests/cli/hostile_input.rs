//! Hostile input at the CLI (issue 2, item 6): bad names, bad session files, a bad
//! config file and a store file that is not a database. Each gets a clear error and
//! a documented exit code, and changes nothing: the listing, the exported sessions
//! and the bytes of the files involved are the same afterwards.
//!
//! Exit codes chosen: a refused name or a bad session file is a usage error (2, the
//! error names the rule or the file and line); a config file with an error, or a store
//! file that is not a database, is a failure (1, the error names the file and, for
//! config, the line and key).

use crate::sessions_fixtures;

use std::path::Path;

use cairn_testkit::cli::Cairn;
use cairn_testkit::home::TestHome;
use serde_json::{Value, json};
use sessions_fixtures::*;

const RULE: &str = "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$";

/// Everything observable about the store: the listing and every session's export.
fn snapshot(c: &Cairn) -> Vec<(String, String)> {
    listed(c)
        .into_iter()
        .map(|name| {
            let out = c.run(["sessions", "export", &name]);
            out.success();
            (name, out.stdout)
        })
        .collect()
}

fn read_or_empty(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

fn hostile_names() -> Vec<String> {
    vec![
        "a/b".into(),
        "../../etc/passwd".into(),
        "..".into(),
        "with space".into(),
        "y".repeat(200),
        String::new(),
        "-dash-first".into(),
        "naïve".into(),
        "tab\there".into(),
    ]
}

#[test]
fn refused_names_on_the_command_line_exit_2_and_touch_nothing() {
    let home = TestHome::new();
    let c = cairn(&home);
    // Before any store exists: a refused name must not even create one.
    for name in hostile_names() {
        for args in [
            vec!["sessions", "show", name.as_str()],
            vec!["sessions", "context", name.as_str(), "--all"],
            vec!["sessions", "export", name.as_str()],
            vec!["sessions", "rm", name.as_str(), "--yes"],
        ] {
            // Values starting with '-' are parsed as flags by clap: still exit 2.
            let out = c.run(&args);
            out.code(2);
            if !name.starts_with('-') {
                out.stderr_has(&["invalid session name", RULE]);
            }
        }
    }
    assert!(
        !home.store_file().exists(),
        "a refused name created the store"
    );

    import(&c, &home, "s.jsonl", &rich("keeper", &home.project_key()));
    let before = snapshot(&c);
    let file = home.write_file("again.jsonl", rich("keeper", &home.project_key()));
    for name in hostile_names() {
        if name.starts_with('-') {
            continue;
        }
        c.run(["sessions", "rename", "keeper", name.as_str()])
            .code(2)
            .stderr_has(&[RULE]);
        c.run(["sessions", "rename", name.as_str(), "fine"])
            .code(2)
            .stderr_has(&[RULE]);
        c.run([
            "sessions".as_ref(),
            "import".as_ref(),
            file.as_os_str(),
            "--name".as_ref(),
            name.as_ref(),
        ])
        .code(2)
        .stderr_has(&[RULE]);
    }
    assert_eq!(snapshot(&c), before);
    // The messages say why, quoting the name so invisible characters show.
    c.run(["sessions", "show", ""])
        .code(2)
        .stderr_has(&["\"\"", "empty"]);
    let long = "y".repeat(200);
    c.run(["sessions", "show", long.as_str()])
        .code(2)
        .stderr_has(&["longer than 128"]);
    c.run(["sessions", "show", "a/b"])
        .code(2)
        .stderr_has(&["\"a/b\"", "not allowed"]);
}

/// Names, models, actions and roles are parsed by the argument parser into their
/// types: a bad one is a usage error naming the argument it was given for.
#[test]
fn bad_values_are_refused_by_the_argument_parser_naming_the_argument() {
    let home = TestHome::new();
    let c = cairn(&home);
    for (args, argument, why) in [
        (vec!["sessions", "show", "a/b"], "'<NAME>'", RULE),
        (vec!["sessions", "rename", "a b", "ok"], "'<OLD>'", RULE),
        (vec!["sessions", "rename", "ok", "a b"], "'<NEW>'", RULE),
        (
            vec!["sessions", "import", "x.jsonl", "--name", "a b"],
            "'--name <NEW>'",
            RULE,
        ),
        (
            vec!["run", "--name", "a b", "-p", "hi"],
            "'--name <NAME>'",
            RULE,
        ),
        (
            vec!["run", "--resume", "a b", "-p", "hi"],
            "'--resume [<NAME>]'",
            RULE,
        ),
        (
            vec!["run", "--model", "gpt4", "-p", "hi"],
            "'--model <PROVIDER:MODEL>'",
            "provider:model",
        ),
        (
            vec!["pool", "signal", "finished", "t", "--summary", "s"],
            "'<ACTION>'",
            "allowed actions: claimed",
        ),
        (
            vec!["sessions", "context", "ok", "--role", "robot"],
            "'--role <ROLE>'",
            "possible values: system, user, assistant, tool",
        ),
    ] {
        c.run(&args).code(2).stderr_has(&[argument, why]);
    }
    assert!(
        !home.store_file().exists(),
        "a refused argument created the store"
    );
}

#[test]
fn refused_names_inside_a_file_exit_2_and_import_nothing() {
    // A NUL cannot travel in a command-line argument (execve ends strings at NUL),
    // so it comes in through a file's header.
    let home = TestHome::new();
    let c = cairn(&home);
    import(
        &c,
        &home,
        "k.jsonl",
        &simple("keeper", &home.project_key(), &["x"]),
    );
    let before = snapshot(&c);
    let store_before = read_or_empty(&home.store_file());
    let mut names = hostile_names();
    names.push("a\0b".into());
    names.push("nul\0".into());
    for (i, name) in names.iter().enumerate() {
        let text = simple(name, &home.project_key(), &["hello"]);
        let path = home.write_file(&format!("bad-name-{i}.jsonl"), &text);
        let out = c.run(["sessions".as_ref(), "import".as_ref(), path.as_os_str()]);
        out.code(2).stderr_has(&[
            &format!("bad-name-{i}.jsonl: line 1: field \"name\""),
            RULE,
            "--name NEW",
        ]);
        if name.contains('\0') {
            out.stderr_has(&["\\0"]);
        }
    }
    assert_eq!(snapshot(&c), before);
    assert_eq!(read_or_empty(&home.store_file()), store_before);
    // Under a good name the same file is fine.
    let path = home.write_file("nul.jsonl", simple("a\0b", &home.project_key(), &["hello"]));
    c.run([
        "sessions".as_ref(),
        "import".as_ref(),
        path.as_os_str(),
        "--name".as_ref(),
        "renamed-nul".as_ref(),
    ])
    .success();
    let mut names = listed(&c);
    names.sort();
    assert_eq!(names, ["keeper", "renamed-nul"]);
}

/// A good file with one line replaced (`line` is 1-based, 1 = header).
fn with_line(home: &TestHome, line: usize, replacement: &[u8]) -> Vec<u8> {
    let text = rich("incoming", &home.project_key());
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if i + 1 == line {
            out.extend_from_slice(replacement);
        } else {
            out.extend_from_slice(l.as_bytes());
        }
        out.push(b'\n');
    }
    out
}

#[test]
fn bad_session_files_name_the_first_bad_line_and_import_nothing() {
    let home = TestHome::new();
    let c = cairn(&home);
    import(&c, &home, "k.jsonl", &rich("keeper", &home.project_key()));
    let before = snapshot(&c);
    let store_before = read_or_empty(&home.store_file());

    let good = rich("incoming", &home.project_key());
    let good_lines: Vec<&str> = good.lines().collect();
    let truncated = {
        let mut t = good.clone().into_bytes();
        t.truncate(t.len() - 25);
        t
    };
    let duplicate = {
        let mut lines = good_lines.clone();
        lines.insert(5, good_lines[4]);
        (lines.join("\n") + "\n").into_bytes()
    };
    let big_garbage = {
        let mut b = with_line(&home, 3, &vec![b'z'; 20 * 1024 * 1024]);
        b.shrink_to_fit();
        b
    };
    let big_wrong_type = with_line(
        &home,
        3,
        format!(
            r#"{{"seq":2,"ts":"2025-03-01T09:00:02Z","kind":"message","role":"user","content":"{}"}}"#,
            "q".repeat(20 * 1024 * 1024)
        )
        .as_bytes(),
    );
    let cases: Vec<(&str, Vec<u8>, u64, &str)> = vec![
        ("empty", Vec::new(), 1, "missing header"),
        (
            "no-header",
            good_lines[1..].join("\n").into_bytes(),
            1,
            "missing header",
        ),
        (
            "wrong-format",
            with_line(&home, 1, br#"{"format":"other","version":1}"#),
            1,
            "\"format\"",
        ),
        (
            "version-2",
            with_line(
                &home,
                1,
                good_lines[0].replace("\"version\":1", "\"version\":2").as_bytes(),
            ),
            1,
            "version 1 only",
        ),
        (
            "invalid-utf8",
            with_line(
                &home,
                4,
                b"{\"seq\":3,\"ts\":\"2025-03-01T09:00:03Z\",\"kind\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"caf\xe9\"}]}",
            ),
            4,
            "not valid UTF-8",
        ),
        ("truncated", truncated, 15, "truncated"),
        ("twenty-mb-garbage", big_garbage, 3, "not JSON"),
        ("twenty-mb-wrong-type", big_wrong_type, 3, "invalid type"),
        (
            "wrong-type-seq",
            with_line(
                &home,
                2,
                good_lines[1].replace("\"seq\":1", "\"seq\":\"one\"").as_bytes(),
            ),
            2,
            "\"seq\"",
        ),
        (
            "wrong-type-role",
            with_line(
                &home,
                2,
                good_lines[1].replace("\"role\":\"system\"", "\"role\":42").as_bytes(),
            ),
            2,
            "message event",
        ),
        (
            "wrong-type-usage",
            with_line(
                &home,
                4,
                good_lines[3]
                    .replace("\"input_tokens\":1200", "\"input_tokens\":-5")
                    .as_bytes(),
            ),
            4,
            "message event",
        ),
        ("duplicate-seq", duplicate, 6, "duplicate seq 4"),
        (
            "gap",
            {
                let mut lines = good_lines.clone();
                lines.remove(6);
                (lines.join("\n") + "\n").into_bytes()
            },
            7,
            "seq 7 follows seq 5",
        ),
        (
            "compaction-after-itself",
            with_line(
                &home,
                7,
                good_lines[6].replace("[1,4]", "[1,8]").as_bytes(),
            ),
            7,
            "replaces [1, 8]",
        ),
        ("not-an-object", with_line(&home, 5, b"[1,2,3]"), 5, "an array"),
        (
            "bad-base64",
            with_line(
                &home,
                3,
                good_lines[2]
                    .replace("\"data_base64\":\"", "\"data_base64\":\"!!")
                    .as_bytes(),
            ),
            3,
            "not base64",
        ),
    ];
    for (label, bytes, line, reason) in cases {
        let file_name = format!("{label}.jsonl");
        let path = home.write_file(&file_name, &bytes);
        let out = c.run(["sessions".as_ref(), "import".as_ref(), path.as_os_str()]);
        out.code(2)
            .stderr_has(&[&format!("{file_name}: line {line}: "), reason]);
        assert!(
            out.stderr.len() < 1000,
            "{label}: the error is {} bytes long",
            out.stderr.len()
        );
        // With --name too: still nothing.
        c.run([
            "sessions".as_ref(),
            "import".as_ref(),
            path.as_os_str(),
            "--name".as_ref(),
            "fresh".as_ref(),
        ])
        .code(2);
        assert_eq!(
            read_or_empty(&home.store_file()),
            store_before,
            "{label} changed the store"
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "{label}: file changed"
        );
    }
    assert_eq!(snapshot(&c), before);
}

#[test]
fn a_twenty_megabyte_line_that_is_valid_is_imported_whole() {
    // The line limit is 64 MiB (cairn_core::jsonl::MAX_LINE_BYTES): a 20 MB tool
    // result is a legitimate event, and it round-trips byte for byte.
    let home = TestHome::new();
    let c = cairn(&home);
    let mut h = header("big", &home.project_key());
    h["model"] = json!("ollama:qwen3");
    let big_text = "0123456789abcdef\n".repeat(20 * 1024 * 1024 / 17);
    let events = vec![
        message(1, "user", "dump the log"),
        json!({"seq": 2, "ts": ts(2), "kind": "message", "role": "tool",
               "content": [{"type": "tool_result", "tool_use_id": "t", "content": big_text, "is_error": false}]}),
    ];
    let text = jsonl(&h, &events);
    assert!(text.len() > 20_000_000);
    import(&c, &home, "big.jsonl", &text);
    let out = c.run(["sessions", "export", "big"]);
    out.success();
    assert!(out.stdout == text, "the 20 MB session did not round-trip");
    let v = c
        .run([
            "sessions", "context", "big", "--large", "10000000", "--json",
        ])
        .json();
    assert_eq!(v["events"][0]["event"]["seq"], 2);
}

#[test]
fn missing_or_unreadable_files_fail_clearly() {
    let home = TestHome::new();
    let c = cairn(&home);
    c.run(["sessions", "import", "/definitely/not/here.jsonl"])
        .code(1)
        .stderr_has(&["/definitely/not/here.jsonl"]);
    let dir = home.dir("a-directory");
    c.run(["sessions".as_ref(), "import".as_ref(), dir.as_os_str()])
        .code(1)
        .stderr_has(&["a-directory"]);
    assert!(listed(&c).is_empty());
}

#[test]
fn config_with_a_syntax_error_stops_every_command_naming_file_line_and_key() {
    let home = TestHome::new();
    let c = cairn(&home);
    import(
        &c,
        &home,
        "k.jsonl",
        &simple("keeper", &home.project_key(), &["x"]),
    );
    let store_before = read_or_empty(&home.store_file());
    let config = "model = \"openai:gpt-4.1\"\n\n[compression]\nknowledge_retention = \"ten\"\n";
    home.write_config(config);
    for args in [
        vec!["config", "show"],
        vec!["config", "show", "--json"],
        vec!["sessions", "list"],
        vec!["sessions", "show", "keeper"],
    ] {
        c.run(&args).code(1).stderr_has(&[
            &home.config_file().display().to_string(),
            "line 4",
            "knowledge_retention",
        ]);
    }
    // An unclosed table header, and an unknown key, in the project's own file.
    std::fs::remove_file(home.config_file()).unwrap();
    home.write_project_config("[compression\nhints_enabled = true\n");
    c.run(["sessions", "list"])
        .code(1)
        .stderr_has(&[".cairn.toml", "line 1"]);
    home.write_project_config("modle = \"x\"\n");
    c.run(["config", "show"])
        .code(1)
        .stderr_has(&[".cairn.toml", "line 1", "modle"]);
    assert_eq!(
        std::fs::read(home.project.join(".cairn.toml")).unwrap(),
        b"modle = \"x\"\n"
    );
    assert_eq!(read_or_empty(&home.store_file()), store_before);
    // Fixed, everything works again and nothing was lost.
    std::fs::remove_file(home.project.join(".cairn.toml")).unwrap();
    assert_eq!(listed(&c), ["keeper"]);
}

#[test]
fn a_store_file_that_is_not_a_database_is_refused_and_left_alone() {
    let home = TestHome::new();
    let c = cairn(&home);
    let junk: Vec<u8> = b"this is not a SQLite database, just some text\n".repeat(200);
    std::fs::write(home.store_file(), &junk).unwrap();
    let good = home.write_file("s.jsonl", simple("s", &home.project_key(), &["x"]));
    for args in [
        vec!["sessions".as_ref(), "list".as_ref()],
        vec!["sessions".as_ref(), "show".as_ref(), "s".as_ref()],
        vec!["sessions".as_ref(), "search".as_ref(), "x".as_ref()],
        vec!["sessions".as_ref(), "import".as_ref(), good.as_os_str()],
    ] {
        let args: Vec<&std::ffi::OsStr> = args;
        c.run(&args)
            .code(1)
            .stderr_has(&[&home.store_file().display().to_string()]);
    }
    assert_eq!(std::fs::read(home.store_file()).unwrap(), junk);
    // Commands that do not need the store still work.
    c.run(["config", "path"]).success();
}

/// Issue 8 item 2: a file's `project` is data from whoever wrote the file; it never
/// becomes the session's project (the tool root of a resume). The file's project is
/// shown, the session goes to the current project.
#[test]
fn an_imported_files_project_is_not_trusted() {
    let home = TestHome::new();
    let c = cairn(&home);
    let path = home.write_file("root.jsonl", simple("rooted", "/", &["read /etc/shadow"]));
    let out = c.run(["sessions".as_ref(), "import".as_ref(), path.as_os_str()]);
    out.success()
        .stdout_has(&["into project ", "exported from project /"]);
    let v = c.run(["sessions", "show", "rooted", "--json"]).json();
    assert_eq!(v["project"], home.project_key().as_str());
    // `--project DIR` chooses another project; the home directory is warned about.
    let out = c.run([
        "sessions".as_ref(),
        "import".as_ref(),
        path.as_os_str(),
        "--name".as_ref(),
        "at-home".as_ref(),
        "--project".as_ref(),
        home.user_home.as_os_str(),
        "--json".as_ref(),
    ]);
    out.success().stderr_has(&["warning: ", "home directory"]);
    assert_eq!(out.json()["file_project"], "/");
    assert_eq!(out.json()["project"], home.user_home.to_str().unwrap());
}

/// Issue 8 item 11: every field is checked before anything is written. Costs must be
/// finite and not negative, media blocks must name a real sha256 of a supported type
/// and point at bytes (in the file or in the store). A bad file leaves neither a
/// session nor an attachment behind.
#[test]
fn import_checks_costs_and_media_and_leaves_no_attachment_behind() {
    let home = TestHome::new();
    let c = cairn(&home);
    let project = home.project_key();
    let with = |extra: Value| {
        let mut event = message(1, "assistant", "answer");
        for (k, v) in extra.as_object().unwrap() {
            event[k] = v.clone();
        }
        event
    };
    let inline_png = json!({"seq": 1, "ts": ts(1), "kind": "message", "role": "user",
        "content": [{"type": "image", "sha256": sha256_hex(PNG), "mime": "image/png",
            "data_base64": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, PNG)}]});
    let mut second = with(json!({"cost_usd": -1000.0}));
    second["seq"] = json!(2);
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            jsonl(&header("neg", &project), &[with(json!({"cost_usd": -5.0}))]),
            vec!["line 2", "cost_usd"],
        ),
        (
            jsonl(
                &header("inf", &project),
                &[with(json!({"cost_usd": 1e308})), {
                    let mut e = with(json!({"cost_usd": 1e308}));
                    e["seq"] = json!(2);
                    e
                }],
            ),
            vec!["line 3", "cost_usd"],
        ),
        (
            jsonl(
                &header("tokens", &project),
                &[with(json!({"usage": {"input_tokens": u64::MAX}}))],
            ),
            vec!["line 2", "input_tokens"],
        ),
        (
            jsonl(
                &header("dangling", &project),
                &[json!({"seq": 1, "ts": ts(1), "kind": "message",
                "role": "user", "content": [{"type": "image", "sha256": "b".repeat(64), "mime": "image/png"}]})],
            ),
            vec!["line 2", "sha256", "no attachment"],
        ),
        (
            jsonl(
                &header("short-sha", &project),
                &[json!({"seq": 1, "ts": ts(1), "kind": "message",
                "role": "user", "content": [{"type": "image", "sha256": "abc", "mime": "image/png"}]})],
            ),
            vec!["line 2", "sha256", "64"],
        ),
        (
            jsonl(
                &header("html", &project),
                &[json!({"seq": 1, "ts": ts(1), "kind": "message",
                "role": "user", "content": [{"type": "image", "sha256": "c".repeat(64), "mime": "text/html"}]})],
            ),
            vec!["line 2", "mime"],
        ),
        // The image is fine, a later line is not: the image must not stay in the store.
        (
            jsonl(&header("late", &project), &[inline_png, second]),
            vec!["line 3", "cost_usd"],
        ),
    ];
    for (text, needles) in cases {
        let path = home.write_file("bad.jsonl", &text);
        let out = c.run(["sessions".as_ref(), "import".as_ref(), path.as_os_str()]);
        out.code(2).stderr_has(&needles);
        assert!(listed(&c).is_empty(), "{}", out.stderr);
    }
    let left = stored_attachment(&home, &sha256_hex(PNG));
    assert!(
        matches!(left, Err(cairn_core::Error::NotFound { .. })),
        "the image of a refused file stayed in the store: {left:?}"
    );
}

/// Issue 8 item 11: a file that passes every check can still fail when the store
/// writes it (a fault, a full disk, a name taken meanwhile). The attachments it
/// carried go in the same transaction as its events, so they do not stay behind.
#[test]
fn an_import_failing_in_the_store_leaves_no_attachment_behind() {
    let home = TestHome::new();
    let c = cairn(&home);
    let project = home.project_key();
    import(
        &c,
        &home,
        "keeper.jsonl",
        &simple("keeper", &project, &["kept"]),
    );
    // A store fault at the third event, after the image of the first was written.
    let db = rusqlite::Connection::open(home.store_file()).unwrap();
    db.execute_batch(
        "CREATE TRIGGER injected_fault BEFORE INSERT ON events WHEN NEW.seq = 3 \
         BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
    )
    .unwrap();
    drop(db);
    let inline_png = json!({"seq": 1, "ts": ts(1), "kind": "message", "role": "user",
        "content": [{"type": "image", "sha256": sha256_hex(PNG), "mime": "image/png",
            "data_base64": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, PNG)}]});
    let text = jsonl(
        &header("faulty", &project),
        &[
            inline_png,
            message(2, "assistant", "a"),
            message(3, "user", "b"),
        ],
    );
    let path = home.write_file("faulty.jsonl", &text);
    let out = c.run(["sessions".as_ref(), "import".as_ref(), path.as_os_str()]);
    out.code(1).stderr_has(&["injected fault"]);
    assert_eq!(listed(&c), vec!["keeper".to_string()]);
    let left = stored_attachment(&home, &sha256_hex(PNG));
    assert!(
        matches!(left, Err(cairn_core::Error::NotFound { .. })),
        "the image of a failed import stayed in the store: {left:?}"
    );
}

/// The attachment with this hash, read from the test's store directly.
fn stored_attachment(home: &TestHome, sha256: &str) -> cairn_core::Result<cairn_core::Attachment> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = cairn_store_sqlite::open_store(
            &home.store_file(),
            cairn_store_sqlite::Synchronous::Normal,
        )
        .unwrap();
        store.attachment(sha256).await
    })
}
