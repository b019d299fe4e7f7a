//! The web dashboard of `cairn serve` in a real browser: Debian's Chromium driven by
//! Playwright (`tests/python/dashboard/browser.py`), against a real daemon whose model
//! is the testkit's fake provider. The script walks the pages (each check printed as
//! `CHECK …`); here the sessions are prepared and the store and the provider's
//! requests are checked afterwards. Screenshots are kept under the target directory,
//! their folder printed.

use crate::sessions_fixtures;

use std::path::PathBuf;
use std::process::Command;

use cairn_core::{Role, SessionName};
use cairn_store_sqlite::Synchronous;
use cairn_testkit::external::test_python;
use cairn_testkit::fake_llm::{FakeLlm, Reply};
use cairn_testkit::home::TestHome;
use cairn_testkit::serve::ServeDaemon;
use serde_json::json;
use sessions_fixtures::{PNG, cairn, header, import, jsonl, message, rich, sha256_hex};

const CAIRN: &str = env!("CARGO_BIN_EXE_cairn");

/// Markup a model or an imported file could put in a session: none of it may run.
const HOSTILE_USER: &str = "Look: <script>window.__pwned = 1</script> and \
     <img src=x onerror=\"window.__pwned = 2\"> and [click me](javascript:window.__pwned=3)";
const HOSTILE_ANSWER: &str = "<iframe src=\"javascript:window.__pwned=4\"></iframe>\n\n\
     **bold <svg onload=\"window.__pwned=5\">** and <a href=\"javascript:alert(1)\">x</a>";

/// Where this test's screenshots go (kept after the run).
fn screenshot_dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("dashboard-screenshots")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the screenshot folder");
    dir
}

/// Runs the browser script; asserts it passed and that `must_check` ran. Returns stdout.
fn run_browser(home: &TestHome, fake: &FakeLlm, scenario: &str, must_check: &[&str]) -> String {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/dashboard/browser.py");
    let shots = screenshot_dir(scenario);
    println!("screenshots: {}", shots.display());
    let output = Command::new(test_python())
        .arg(&script)
        .args(["--binary", CAIRN, "--scenario", scenario])
        .arg("--home")
        .arg(&home.cairn_home)
        .arg("--project")
        .arg(&home.project)
        .args(["--openai-base-url", &fake.openai_base_url()])
        .arg("--screenshots")
        .arg(&shots)
        .current_dir(home.root())
        .env_clear()
        .env(
            "PATH",
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
        )
        .env("HOME", &home.user_home)
        .env("LANG", "C.UTF-8")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run the browser script");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "browser.py {scenario} failed ({:?}); screenshots in {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status,
        shots.display()
    );
    cairn_testkit::external::assert_checks(&stdout, must_check);
    stdout
}

/// `(role, text, interrupted)` of every message of session `name`, from the store.
fn messages(home: &TestHome, name: &str) -> Vec<(Role, String, bool)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let store =
            cairn_store_sqlite::open_store(&home.store_file(), Synchronous::Normal).unwrap();
        let session = store
            .session(&SessionName::parse(name).unwrap())
            .await
            .unwrap();
        let events = store.events_after(session.id, 0, 100_000).await.unwrap();
        events
            .iter()
            .filter_map(|e| e.payload.as_message())
            .map(|m| (m.role, m.plain_text(), m.interrupted))
            .collect()
    })
}

#[test]
fn a_person_uses_the_dashboard_in_chromium() {
    let home = TestHome::with_git();
    let project = home.project_key();
    let c = cairn(&home);
    import(&c, &home, "rich.jsonl", &rich("auth-refactor", &project));
    let hostile = jsonl(
        &header("hostile", &project),
        &[
            message(1, "user", HOSTILE_USER),
            message(2, "assistant", HOSTILE_ANSWER),
            json!({"seq": 3, "ts": "2025-03-01T09:00:03Z", "kind": "knowledge",
                   "knowledge_kind": "fact", "text": "<img src=x onerror=\"window.__pwned=6\">", "pinned": false}),
        ],
    );
    import(&c, &home, "hostile.jsonl", &hostile);

    let streamed = format!("Streaming {}the end.", "word by word, ".repeat(30));
    let story = "Once upon a time ".repeat(200);
    let fake = FakeLlm::start([
        Reply::new()
            .text(streamed.clone())
            .chunk_size(12)
            .chunk_delay_ms(40)
            .into(),
        Reply::new()
            .text(story.clone())
            .chunk_size(8)
            .chunk_delay_ms(100)
            .into(),
    ])
    .unwrap();
    run_browser(
        &home,
        &fake,
        "tour",
        &[
            "sessions: the page lists every session",
            "search: a hit names the session",
            "session: a compaction with its summary",
            "session: a tool call opens with its result",
            "session: the image shows inline",
            "session: a chart of the requests",
            "send: the answer streams in before the turn ends",
            "send: the stored answer arrives on the stream",
            "stop: the turn ends cancelled",
            "hostile: no script ran",
            "hostile: no element came from the text",
            "pool: the signal appears without a reload",
            "usage: tokens and cost per model",
            "the page logged no error",
        ],
    );

    // The page's turns went through the engine into the store, like any other turn.
    let stored = messages(&home, "auth-refactor");
    let asked = stored
        .iter()
        .position(|(r, t, _)| *r == Role::User && t == "Hello from the browser");
    let asked = asked.unwrap_or_else(|| panic!("the browser's message is not stored: {stored:#?}"));
    assert!(
        stored[asked + 1..]
            .iter()
            .any(|(r, t, i)| *r == Role::Assistant && *t == streamed && !i),
        "{stored:#?}"
    );
    let cut = stored
        .iter()
        .find(|(r, _, i)| *r == Role::Assistant && *i)
        .unwrap_or_else(|| panic!("no interrupted answer: {stored:#?}"));
    assert!(!cut.1.is_empty() && story.starts_with(&cut.1), "{cut:?}");
    // The model saw the session's live context: the latest compaction's summary.
    let first = fake.requests()[0].body.to_string();
    assert!(
        first.contains("JWT auth in place; refresh tokens started"),
        "{first}"
    );
    assert!(first.contains("Hello from the browser"), "{first}");
}

#[test]
fn pages_and_attachments_are_served_with_their_types_and_guards() {
    let home = TestHome::with_git();
    let c = cairn(&home);
    import(
        &c,
        &home,
        "rich.jsonl",
        &rich("auth-refactor", &home.project_key()),
    );
    let daemon = ServeDaemon::start(CAIRN, &home, None, Some("page-token"), &[]);

    // The pages hold no data: they load without the token, under a strict CSP.
    let page = daemon.get("/", &[("Authorization", "")]);
    assert_eq!(page.status, 200, "{page:?}");
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert!(page.body.contains("/assets/app.js"), "{page:?}");
    let script = daemon.get("/assets/markdown.js", &[("Authorization", "")]);
    assert_eq!(script.status, 200);
    assert_eq!(script.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(daemon.get("/assets/..%2FCargo.toml", &[]).status, 404);

    // A message's image, by its hash, with its type; the token is needed.
    let path = format!("/api/attachments/{}", sha256_hex(PNG));
    let image = daemon.get(&path, &[]);
    assert_eq!(image.status, 200, "{image:?}");
    assert_eq!(image.header("content-type"), Some("image/png"));
    assert_eq!(image.header("x-content-type-options"), Some("nosniff"));
    let length = PNG.len().to_string();
    assert_eq!(image.header("content-length"), Some(length.as_str()));
    assert_eq!(daemon.get(&path, &[("Authorization", "")]).status, 401);
    let bad = daemon.get("/api/attachments/not-a-hash", &[]);
    assert_eq!(bad.status, 400, "{bad:?}");
    assert!(bad.body.contains("64 lower-case hex digits"), "{bad:?}");
    let unknown = format!("/api/attachments/{}", "0".repeat(64));
    assert_eq!(daemon.get(&unknown, &[]).status, 404);
}
