//! `cairn store copy|status` through the real binary: SQLite → PostgreSQL →
//! SQLite gives identical exports, a second copy changes nothing, a name taken by
//! another session is reported and left alone, and status counts what is there.

use crate::sessions_fixtures;

use cairn_testkit::cli::Cairn;
use cairn_testkit::home::TestHome;
use cairn_testkit::postgres::fresh_database;
use serde_json::Value;
use sessions_fixtures::*;

fn export(c: &Cairn, store: &str, name: &str) -> String {
    let out = c.run(["--store", store, "sessions", "export", name]);
    out.success();
    out.stdout.clone()
}

fn copy(c: &Cairn, from: &str, to: &str) -> Value {
    c.run(["store", "copy", "--from", from, "--to", to, "--json"])
        .success()
        .json()
}

#[test]
fn sqlite_to_postgresql_to_sqlite_gives_identical_exports_and_runs_again() {
    let home = TestHome::new();
    let (c, sqlite_a) = (on_sqlite(&home), sqlite_url(&home));
    import(&c, &home, "rich.jsonl", &rich("rich-one", "/work/api"));
    // A tool output read twice: one payload row on either store.
    let output = "fn main() { println!(\"hi\"); }\n".repeat(100);
    import(
        &c,
        &home,
        "plain.jsonl",
        &simple("plain", "/work/web", &["hi", &output, "hello", &output]),
    );
    c.run([
        "progress",
        "save",
        "auth-v2",
        "--summary",
        "login works",
        "--next",
        "tests",
    ])
    .success();
    c.clone()
        .env("CAIRN_INSTANCE", "ann")
        .run([
            "pool",
            "signal",
            "claimed",
            "auth",
            "--summary",
            "jwt",
            "--affects",
            "src/auth.rs",
        ])
        .success();

    let database = fresh_database();
    let postgres = database.url.clone();
    let sqlite_b = format!("sqlite://{}", home.root().join("b/cairn.db").display());

    let first = copy(&c, &sqlite_a, &postgres);
    assert_eq!(first["sessions_copied"], 2, "{first:#}");
    assert_eq!(first["attachments_copied"], 1, "{first:#}");
    assert_eq!(first["checkpoints_copied"], 1, "{first:#}");
    assert_eq!(first["pool_signals_copied"], 1, "{first:#}");
    assert_eq!(first["name_conflicts"], serde_json::json!([]));

    // Again: everything is there already, nothing is written twice.
    let again = copy(&c, &sqlite_a, &postgres);
    assert_eq!(again["sessions_copied"], 0, "{again:#}");
    assert_eq!(again["sessions_present"], 2, "{again:#}");
    assert_eq!(again["checkpoints_present"], 1, "{again:#}");
    assert_eq!(again["pool_signals_present"], 1, "{again:#}");

    copy(&c, &postgres, &sqlite_b);
    for name in ["rich-one", "plain"] {
        let original = export(&c, &sqlite_a, name);
        assert_eq!(
            export(&c, &postgres, name),
            original,
            "{name} on PostgreSQL"
        );
        assert_eq!(
            export(&c, &sqlite_b, name),
            original,
            "{name} back on SQLite"
        );
    }
    let progress = |store: &str| {
        c.run(["--store", store, "progress", "get", "auth-v2", "--json"])
            .success()
            .json()
    };
    assert_eq!(progress(&sqlite_b), progress(&sqlite_a));

    let status = c
        .run(["--store", &postgres, "store", "status", "--json"])
        .success()
        .json();
    assert_eq!(status["backend"], "postgres");
    assert_eq!(
        (
            &status["sessions"],
            &status["checkpoints"],
            &status["pool_signals"],
            &status["attachments"]
        ),
        (
            &Value::from(2),
            &Value::from(1),
            &Value::from(1),
            &Value::from(1)
        )
    );
    assert!(status["size_bytes"].as_u64().unwrap() > 0);
    assert!(!status.to_string().contains("hunter2"));
}

#[test]
fn a_name_taken_by_another_session_is_reported_and_kept() {
    let home = TestHome::new();
    let (c, sqlite_a) = (on_sqlite(&home), sqlite_url(&home));
    import(
        &c,
        &home,
        "a.jsonl",
        &simple("plain", "/work/web", &["from a"]),
    );
    let other = format!("sqlite://{}", home.root().join("other/cairn.db").display());
    let text = simple("plain", "/work/web", &["already here"]);
    let path = home.write_file("other.jsonl", &text);
    c.run([
        "--store",
        &other,
        "sessions",
        "import",
        path.to_str().unwrap(),
    ])
    .success();
    let before = export(&c, &other, "plain");

    let summary = copy(&c, &sqlite_a, &other);
    assert_eq!(summary["sessions_copied"], 0, "{summary:#}");
    assert_eq!(summary["name_conflicts"][0]["name"], "plain", "{summary:#}");
    assert_eq!(export(&c, &other, "plain"), before);
    c.run(["store", "copy", "--to", &other])
        .success()
        .stdout_has(&["not copied: session plain", "the name is taken"]);

    // Copying a store into itself is refused.
    c.run(["store", "copy", "--to", &sqlite_a])
        .code(1)
        .stderr_has(&["--to names the store copied from"]);
}

#[test]
fn status_names_the_sqlite_store_and_counts() {
    let home = TestHome::new();
    let c = on_sqlite(&home);
    import(
        &c,
        &home,
        "a.jsonl",
        &simple("plain", "/work/web", &["one", "two", "three"]),
    );
    let status = c.run(["store", "status", "--json"]).success().json();
    assert_eq!(status["backend"], "sqlite");
    assert_eq!(status["sessions"], 1);
    assert_eq!(status["events"], 3);
    assert_eq!(status["store"], home.store_file().display().to_string());
    c.run(["store", "status"])
        .success()
        .stdout_has(&["schema version:", "sessions:       1"]);
}
