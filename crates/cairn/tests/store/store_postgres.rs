//! Choosing a PostgreSQL store, through the real binary: two homes (two machines)
//! pointed at one database by `[store] url`, `CAIRN_STORE_URL` and `--store` see
//! each other's sessions and checkpoints; a project's `.cairn.toml` may not
//! choose the store; the password never shows.

use crate::sessions_fixtures;

use cairn_testkit::home::TestHome;
use cairn_testkit::postgres::{cluster, fresh_database};
use sessions_fixtures::*;

/// The test cluster trusts every login, so any password works: it is there to be
/// hidden.
fn url_with_password(database: &str) -> String {
    format!(
        "postgres://postgres:hunter2@127.0.0.1:{}/{database}",
        cluster().port()
    )
}

#[test]
fn a_session_written_on_one_machine_is_listed_and_read_on_another() {
    let database = fresh_database();
    let url = url_with_password(&database.name);

    // Machine A chooses the store in its own config file.
    let a = TestHome::new();
    a.write_config(&format!("[store]\nurl = \"{url}\"\n"));
    let on_a = cairn(&a);
    import(
        &on_a,
        &a,
        "s.jsonl",
        &simple("from-a", "/work/api", &["hello from a"]),
    );
    on_a.run([
        "progress",
        "save",
        "auth-v2",
        "--summary",
        "login works",
        "--next",
        "tests",
    ])
    .success();
    assert!(!a.store_file().exists(), "a SQLite file was created");

    // Machine B chooses it with the environment, machine C with the flag.
    let b = TestHome::new();
    let on_b = cairn(&b).env("CAIRN_STORE_URL", &url);
    let c = TestHome::new();
    let on_c = cairn(&c);
    for names in [listed(&on_b), {
        let out = on_c.run(["--store", &url, "sessions", "list", "--all", "--json"]);
        out.success();
        out.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_owned())
            .collect()
    }] {
        assert_eq!(names, ["from-a"]);
    }
    let shown = on_b.run(["sessions", "show", "from-a", "--json"]);
    shown.success();
    assert_eq!(shown.json()["name"], "from-a");
    on_b.run(["progress", "get", "auth-v2", "--json"])
        .success()
        .stdout_has(&["login works"]);

    // B writes too; A sees it.
    import(
        &on_b,
        &b,
        "t.jsonl",
        &simple("from-b", "/work/api", &["hello from b"]),
    );
    let mut names = listed(&on_a);
    names.sort();
    assert_eq!(names, ["from-a", "from-b"]);
    for home in [&a, &b, &c] {
        assert!(!home.store_file().exists(), "a SQLite file was created");
    }
}

#[test]
fn the_password_never_shows_in_config_or_errors() {
    let database = fresh_database();
    let url = url_with_password(&database.name);
    let home = TestHome::new();
    home.write_config(&format!("[store]\nurl = \"{url}\"\n"));
    let c = cairn(&home);
    for args in [
        vec!["config", "show"],
        vec!["config", "show", "--json"],
        vec!["config", "path"],
        vec!["config", "path", "--json"],
    ] {
        let out = c.run(&args);
        out.success();
        assert!(!out.stdout.contains("hunter2"), "{args:?}: {}", out.stdout);
        // `config show` masks secrets its own way (`****`), `config path` with `***`.
        assert!(
            out.stdout.contains("postgres://postgres:***"),
            "{args:?}: {}",
            out.stdout
        );
        assert!(
            out.stdout.contains("@127.0.0.1"),
            "{args:?}: {}",
            out.stdout
        );
    }

    // Scripts reading `config path --json` are not pointed at an unused SQLite file.
    let path = c.run(["config", "path", "--json"]);
    let path: serde_json::Value = serde_json::from_str(&path.stdout).unwrap();
    assert_eq!(path["store_file"], serde_json::Value::Null, "{path}");

    // An unreachable server: a clear error, quickly, naming it without the password.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let gone = format!("postgres://me:hunter2@127.0.0.1:{port}/cairn");
    let started = std::time::Instant::now();
    let out = c.run(["--store", &gone, "sessions", "list"]);
    out.code(1);
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    out.stderr_has(&["PostgreSQL", "me:***@127.0.0.1"]);
    assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
}

#[test]
fn a_project_file_may_not_choose_the_store() {
    let database = fresh_database();
    let home = TestHome::new();
    home.write_project_config(&format!(
        "[store]\nurl = \"{}\"\n",
        url_with_password(&database.name)
    ));
    let out = cairn(&home).run(["sessions", "list"]);
    out.code(1);
    out.stderr_has(&[
        ".cairn.toml",
        "line 1",
        "key `store`",
        "only allowed in your own config.toml",
    ]);
    assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
    // Nothing was written to that database.
    assert_eq!(
        cluster()
            .psql(
                &database.name,
                "SELECT count(*) FROM pg_tables WHERE tablename = 'sessions'"
            )
            .trim(),
        "0"
    );
}

/// A tool output stored once in `payloads` then damaged on the server (another
/// program's write, a restored backup): reading the session is an error naming
/// the session and the event, never a panic nor other text; `gc` and reading
/// another session still work.
#[test]
fn a_damaged_payload_is_an_error_naming_the_session_and_the_event() {
    let database = fresh_database();
    let home = TestHome::new();
    let c = cairn(&home).env("CAIRN_STORE_URL", &database.url);
    let output = "fn main() { println!(\"hello\"); }\n".repeat(100);
    for name in ["damaged", "intact"] {
        import(
            &c,
            &home,
            &format!("{name}.jsonl"),
            &simple(name, "/work/api", &["read main.rs", &output, "done"]),
        )
        .success();
    }
    let psql = |sql: &str| cluster().psql(&database.name, sql).trim().to_owned();
    assert_eq!(psql("SELECT count(*) FROM payloads"), "1");
    let ulid = psql("SELECT ulid FROM sessions WHERE name = 'damaged'");
    let export = |name: &str| c.run(["sessions", "export", name]);
    let before = export("intact");
    before.success();

    // Make the intact session's copy its own, then damage the other one's: a frame
    // cut short, one claiming far more than it holds, and garbage.
    psql(
        "INSERT INTO payloads (sha256, size, data) SELECT '\\x00', size, data FROM payloads; \
         UPDATE events SET payload = (SELECT id FROM payloads WHERE sha256 = '\\x00') \
         WHERE session = (SELECT id FROM sessions WHERE name = 'intact') \
         AND payload IS NOT NULL",
    );
    for data in [
        "substring(data from 1 for octet_length(data) - 8)",
        "'\\x28b52ffd00ffffffffffffff7f'::bytea",
        "'\\x0102030405'::bytea",
    ] {
        psql(&format!(
            "UPDATE payloads SET data = {data} WHERE sha256 <> '\\x00'"
        ));
        let out = export("damaged");
        assert_ne!(out.code, Some(0), "{}", out.stdout);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        for expected in [ulid.as_str(), "event seq 2", "damaged"] {
            assert!(
                out.stderr.contains(expected),
                "`{expected}` missing from: {}",
                out.stderr
            );
        }
    }
    let after = export("intact");
    after.success();
    assert_eq!(after.stdout, before.stdout);
    c.run(["sessions", "rm", "damaged", "--yes"]).success();
    assert_eq!(psql("SELECT count(*) FROM payloads"), "1");
}
