//! `cairn pool signal|status` against a real store: claims, conflicts,
//! blockers, handoffs, completion and the TTL, from the command line.

use cairn_testkit::cli::Cairn;
use cairn_testkit::home::TestHome;

fn cairn(home: &TestHome, instance: &str) -> Cairn {
    Cairn::new(env!("CARGO_BIN_EXE_cairn"), home).env("CAIRN_INSTANCE", instance)
}

#[test]
fn claims_conflicts_blockers_handoff_completion() {
    let home = TestHome::with_git();
    let a = cairn(&home, "alice");
    let b = cairn(&home, "bob");
    let claim = a
        .run([
            "pool",
            "signal",
            "claimed",
            "auth",
            "--summary",
            "token refresh",
            "--affects",
            "src/auth/",
            "--json",
        ])
        .success()
        .json();
    assert_eq!(claim["signal"]["instance"], "alice");
    assert_eq!(claim["topic"]["holder"], "alice");
    assert_eq!(claim["conflicts"], serde_json::json!([]));

    // A subdirectory of the project is the same project (its git top level).
    let sub = home.project.join("src/auth");
    std::fs::create_dir_all(&sub).unwrap();
    let conflict = cairn(&home, "bob")
        .current_dir(&sub)
        .run([
            "pool",
            "signal",
            "started",
            "login",
            "--summary",
            "login form",
            "--affects",
            "src/auth/login.rs",
            "--json",
        ])
        .success()
        .json();
    let c = &conflict["conflicts"][0];
    assert_eq!(c["topic_a"], "login");
    assert_eq!(c["instance_b"], "alice");
    assert_eq!(c["path_b"], "src/auth/");
    b.run([
        "pool",
        "signal",
        "progress",
        "login",
        "--summary",
        "half done",
    ])
    .success()
    .stdout_has(&["⚠ File conflict", "`login` (bob)", "`auth` (alice)"]);

    // Bob trying to claim Alice's topic is warned and does not take it.
    b.run(["pool", "signal", "claimed", "auth", "--summary", "mine?"])
        .success()
        .stdout_has(&["held by alice"]);

    a.run([
        "pool",
        "signal",
        "blocked",
        "auth",
        "--summary",
        "waiting for keys",
    ])
    .success();
    let status = a.run(["pool", "status", "--json"]).success().json();
    assert_eq!(status["blockers"][0]["summary"], "waiting for keys");
    let auth = status["open_topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["topic"] == "auth")
        .unwrap();
    assert_eq!(auth["state"], "blocked");
    assert_eq!(auth["contested_by"], serde_json::json!(["bob"]));
    a.run(["pool", "status"]).success().stdout_has(&[
        "## Blockers (1)",
        "waiting for keys",
        "## File conflicts (1)",
        "alice",
        "bob",
    ]);

    a.run([
        "pool",
        "signal",
        "handoff",
        "auth",
        "--summary",
        "keys in the vault",
    ])
    .success();
    let status = b.run(["pool", "status", "--json"]).success().json();
    assert_eq!(status["handoffs"][0]["notes"], "keys in the vault");
    assert_eq!(status["conflicts"], serde_json::json!([]));
    b.run([
        "pool",
        "signal",
        "claimed",
        "auth",
        "--summary",
        "taking over",
    ])
    .success();
    b.run(["pool", "signal", "completed", "auth", "--summary", "done"])
        .success();
    b.run(["pool", "signal", "completed", "login", "--summary", "done"])
        .success();
    let status = a.run(["pool", "status", "--json"]).success().json();
    assert_eq!(status["open_topics"], serde_json::json!([]));
    assert_eq!(status["recently_completed"].as_array().unwrap().len(), 2);

    // Another project sees none of it, unless --all.
    let elsewhere = home.dir("elsewhere");
    let status = cairn(&home, "alice")
        .current_dir(&elsewhere)
        .run(["pool", "status", "--json"])
        .success()
        .json();
    assert_eq!(status["recently_completed"], serde_json::json!([]));
    let everywhere = cairn(&home, "alice")
        .current_dir(&elsewhere)
        .run(["pool", "status", "--all", "--json"])
        .success()
        .json();
    assert_eq!(
        everywhere["recently_completed"].as_array().unwrap().len(),
        2
    );
}

#[test]
fn silent_holders_lose_their_topics_after_the_ttl() {
    let home = TestHome::new();
    let a = cairn(&home, "alice").env("CAIRN_POOL_TTL_SECS", "1");
    let b = cairn(&home, "bob").env("CAIRN_POOL_TTL_SECS", "1");
    a.run([
        "pool",
        "signal",
        "claimed",
        "db",
        "--summary",
        "migrations",
        "--affects",
        "db/",
    ])
    .success();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let status = b.run(["pool", "status", "--json"]).success().json();
    assert_eq!(status["open_topics"], serde_json::json!([]));
    assert_eq!(status["expired"][0]["holder"], "alice");
    let take = b
        .run([
            "pool",
            "signal",
            "claimed",
            "db",
            "--summary",
            "mine now",
            "--affects",
            "db/",
            "--json",
        ])
        .success()
        .json();
    assert_eq!(take["topic"]["holder"], "bob");
    assert_eq!(take["warnings"], serde_json::json!([]));
}

#[test]
fn bad_signals_are_refused() {
    let home = TestHome::new();
    let a = cairn(&home, "alice");
    a.run(["pool", "signal", "finished", "t", "--summary", "s"])
        .code(2)
        .stderr_has(&["unknown pool action", "claimed", "signaling"]);
    a.run([
        "pool",
        "signal",
        "claimed",
        "t",
        "--summary",
        &"s".repeat(64 * 1024 + 1),
    ])
    .code(2)
    .stderr_has(&["--summary", "64 KiB"]);
    a.run(["pool", "signal", "claimed", " ", "--summary", "s"])
        .code(2)
        .stderr_has(&["TOPIC"]);
    let status = a.run(["pool", "status", "--json"]).success().json();
    assert_eq!(status["open_topics"], serde_json::json!([]));
    assert_eq!(status["instances"], serde_json::json!([]));
}
