//! Deleting through the real binary: `sessions rm` and `sessions prune` take the
//! attachments only they used with them, `sessions gc` and `doctor` find what an
//! older cairn's delete left, and prune keeps what is in use or shared.

use crate::sessions_fixtures;

use std::sync::Arc;
use std::time::Duration;

use cairn_core::{Error, LeaseHolder, SessionName, Store};
use cairn_testkit::home::TestHome;
use serde_json::{Value, json};
use sessions_fixtures::*;

fn store(home: &TestHome) -> Arc<dyn Store> {
    cairn_store_sqlite::open_store(&home.store_file(), cairn_store_sqlite::Synchronous::Normal)
        .unwrap()
}

fn block<F: std::future::Future>(work: F) -> F::Output {
    tokio::runtime::Runtime::new().unwrap().block_on(work)
}

/// A one-message session (dated 2025-03-01) carrying `png` inline.
fn with_image(name: &str, project: &str, png: &[u8]) -> String {
    use base64::Engine as _;
    let data = base64::engine::general_purpose::STANDARD.encode(png);
    let event = json!({"seq": 1, "ts": ts(1), "kind": "message", "role": "user",
        "content": [{"type": "text", "text": "see the picture"},
                    {"type": "image", "sha256": sha256_hex(png), "mime": "image/png",
                     "data_base64": data}]});
    jsonl(&header(name, project), &[event])
}

fn attachment_exists(home: &TestHome, png: &[u8]) -> bool {
    match block(store(home).attachment(&sha256_hex(png))) {
        Ok(_) => true,
        Err(Error::NotFound { .. }) => false,
        Err(e) => panic!("{e}"),
    }
}

/// Another valid PNG: the same pixel with a byte after the end chunk.
fn other_png() -> Vec<u8> {
    [PNG, b"!"].concat()
}

#[test]
fn rm_takes_the_attachments_only_its_session_used() {
    let home = TestHome::new();
    let c = cairn(&home);
    let here = home.project_key();
    let other = other_png();
    let imported = import(&c, &home, "a.jsonl", &with_image("alpha", &here, PNG));
    assert_eq!(imported.stderr, "");
    import(&c, &home, "b.jsonl", &with_image("beta", &here, PNG));
    import(&c, &home, "s.jsonl", &with_image("solo", &here, &other));

    // Beta shares alpha's image (content-addressed): it stays.
    let out = c.run(["sessions", "rm", "alpha", "--yes", "--json"]);
    out.success();
    assert_eq!(
        out.json(),
        json!({"deleted": "alpha", "attachments_removed": {"count": 0, "bytes": 0}})
    );
    assert!(attachment_exists(&home, PNG));

    let out = c.run(["sessions", "rm", "solo", "--yes"]);
    out.success().stdout_has(&[
        "deleted solo",
        &format!(
            "removed 1 attachment(s) no other session uses, {} B",
            other.len()
        ),
    ]);
    assert!(!attachment_exists(&home, &other));
    assert!(attachment_exists(&home, PNG));
    // Beta still exports with its image.
    c.run(["sessions", "export", "beta"])
        .success()
        .stdout_has(&["data_base64"]);
}

#[test]
fn gc_and_doctor_find_what_an_older_delete_left() {
    let home = TestHome::new();
    let c = cairn(&home);
    // Neither creates a store that is not there.
    c.run(["sessions", "gc", "--dry-run"])
        .success()
        .stdout_has(&["No orphaned attachments."]);
    assert!(!home.store_file().exists(), "gc created the store");

    let here = home.project_key();
    import(&c, &home, "a.jsonl", &with_image("alpha", &here, PNG));
    // A delete that does not collect, as cairn did before `gc`.
    block(store(&home).delete_session(&SessionName::parse("alpha").unwrap())).unwrap();

    let size = PNG.len();
    let doctor = c.run(["doctor", "--offline", "--json"]);
    let report = doctor.json();
    let check = attachments_check(&report);
    assert_eq!(check["status"], "warn", "{check}");
    assert_eq!(
        check["detail"],
        format!("1 orphaned attachment(s), {size} B: `cairn sessions gc` removes them")
    );

    let out = c.run(["sessions", "gc", "--dry-run", "--json"]);
    out.success();
    assert_eq!(
        out.json(),
        json!({"dry_run": true, "attachments": 1, "bytes": size})
    );
    assert!(attachment_exists(&home, PNG));
    c.run(["sessions", "gc", "--dry-run"])
        .success()
        .stdout_has(&[&format!("would remove 1 orphaned attachment(s), {size} B")]);

    let gc = c.run(["sessions", "gc"]);
    assert_eq!(gc.stderr, "");
    gc.success()
        .stdout_has(&[&format!("removed 1 orphaned attachment(s), {size} B")]);
    assert!(!attachment_exists(&home, PNG));
    c.run(["sessions", "gc"])
        .success()
        .stdout_has(&["No orphaned attachments."]);
    let report = c.run(["doctor", "--offline", "--json"]).json();
    assert_eq!(attachments_check(&report)["status"], "ok");
}

fn attachments_check(report: &Value) -> Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["area"] == "attachments")
        .cloned()
        .unwrap_or_else(|| panic!("no attachments check in {report}"))
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

#[test]
fn prune_deletes_old_sessions_and_keeps_those_in_use_or_forked() {
    let home = TestHome::new();
    let c = cairn(&home);
    let here = home.project_key();
    let elsewhere_dir = home.dir("elsewhere");
    let elsewhere = elsewhere_dir.to_string_lossy().into_owned();
    // Every imported session was last active on 2025-03-01.
    import(
        &c,
        &home,
        "a.jsonl",
        &simple("old-a", &here, &["one", "two"]),
    );
    import(&c, &home, "b.jsonl", &with_image("old-b", &here, PNG));
    import(&c, &home, "p.jsonl", &simple("old-parent", &here, &["one"]));
    import(&c, &home, "l.jsonl", &simple("old-leased", &here, &["one"]));
    import(
        &c,
        &home,
        "e.jsonl",
        &simple("old-elsewhere", &elsewhere, &["one"]),
    );
    // A fork made now shares old-parent's history.
    c.run(["sessions", "fork", "old-parent", "new-fork"])
        .success();
    let holder = LeaseHolder {
        pid: 4242,
        host: "devbox".into(),
        token: "held".into(),
    };
    let take_lease = || {
        let store = store(&home);
        block(async {
            let s = store
                .session(&SessionName::parse("old-leased").unwrap())
                .await
                .unwrap();
            store
                .acquire_lease(s.id, &holder, Duration::from_secs(30), true)
                .await
                .unwrap();
        })
    };
    take_lease();
    let everything = sorted(listed(&c));

    let dry = c.run([
        "sessions",
        "prune",
        "--older-than",
        "90d",
        "--dry-run",
        "--json",
    ]);
    dry.success();
    let plan = dry.json();
    assert_eq!(names(&plan["sessions"]), ["old-a", "old-b"]);
    assert!(plan["sessions"][0]["bytes"].as_u64().unwrap() > 0, "{plan}");
    assert_eq!(plan["attachments_removed"], Value::Null);
    let kept: Vec<(String, String)> = plan["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["name"].as_str().unwrap().into(),
                k["reason"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        sorted(kept.iter().map(|k| k.0.clone()).collect()),
        ["old-leased", "old-parent"]
    );
    for (name, reason) in &kept {
        let expected = if name == "old-leased" {
            "in use by pid 4242@devbox"
        } else {
            "its fork(s) new-fork share its history and stay"
        };
        assert_eq!(reason, expected);
    }
    c.run(["sessions", "prune", "--older-than", "90d", "--dry-run"])
        .success()
        .stdout_has(&[
            "old-a",
            "would delete 2 session(s) inactive since",
            "kept old-parent: its fork(s) new-fork share its history and stay",
            "Nothing was deleted (--dry-run).",
        ]);
    assert_eq!(sorted(listed(&c)), everything);

    // Not at a terminal, deleting needs --yes.
    c.run(["sessions", "prune", "--older-than", "90d"])
        .code(2)
        .stderr_has(&["--yes"]);
    assert_eq!(sorted(listed(&c)), everything);

    let pruned = c.run(["sessions", "prune", "--older-than", "90d", "--yes"]);
    // Progress is drawn only at a terminal: nothing of it reaches a pipe.
    assert_eq!(pruned.stderr, "");
    pruned.success().stdout_has(&[
        "deleted 2 session(s)",
        &format!(
            "removed 1 attachment(s) no other session uses, {} B",
            PNG.len()
        ),
        "kept old-leased: in use by pid 4242@devbox",
    ]);
    assert_eq!(
        sorted(listed(&c)),
        ["new-fork", "old-elsewhere", "old-leased", "old-parent"]
    );
    assert!(!attachment_exists(&home, PNG));

    // Every project, and a date that makes the fork old too: it goes first, then
    // its parent; the leased session stays.
    take_lease();
    let out = c.run([
        "sessions",
        "prune",
        "--all",
        "--older-than",
        "2999-01-01",
        "--yes",
        "--json",
    ]);
    out.success();
    let done = out.json();
    let gone = names(&done["sessions"]);
    assert_eq!(gone.len(), 3, "{done}");
    let fork_at = gone.iter().position(|n| n == "new-fork").unwrap();
    let parent_at = gone.iter().position(|n| n == "old-parent").unwrap();
    assert!(fork_at < parent_at, "{gone:?}");
    assert!(gone.contains(&"old-elsewhere".to_owned()));
    assert_eq!(listed(&c), ["old-leased"]);

    // Bad ages are usage errors that name the flag.
    c.run(["sessions", "prune", "--older-than", "soon"])
        .code(2)
        .stderr_has(&["--older-than", "soon"]);
}
