//! `cairn run` builds an OpenAI tokenizer (about a second of CPU and ~60 MB) only when
//! a count needs it. While the provider reports each request's prompt size, that
//! figure plus a byte bound of what came after it keeps the context far from the
//! window and the pressure levels, and nothing is counted; a context whose bound
//! nears a limit is still counted exactly before its request goes. Observed through
//! the real binary: the build says so at debug level (`CAIRN_LOG`).

use cairn_testkit::cli::Cairn;
use cairn_testkit::fake_llm::{ErrorReply, FakeLlm, FakeUsage, Reply, Turn, notes};
use cairn_testkit::home::TestHome;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_cairn");

/// What the build of the o200k tables logs.
const BUILT: &str = "building the o200k_base tokenizer tables";

fn cairn(home: &TestHome, fake: &FakeLlm) -> Cairn {
    Cairn::new(BIN, home)
        .with_fake_openai(fake)
        .env("CAIRN_LOG", "warn,cairn_core=debug")
}

/// An answer whose request the provider reports as `prompt` tokens.
fn answer(text: &str, prompt: u64) -> Turn {
    Reply::new()
        .text(text)
        .usage(FakeUsage {
            input: prompt,
            output: 20,
            ..FakeUsage::default()
        })
        .into()
}

#[test]
fn a_resumed_run_far_from_the_window_never_builds_the_tokenizer() {
    let home = TestHome::with_git();
    std::fs::write(home.project.join("README.md"), "# Fixture\nUse JWT.\n").unwrap();
    let fake = FakeLlm::start([
        answer("noted", 9_000),
        // The resumed turn makes two requests: a tool call, then the answer.
        Reply::new()
            .tool_call("call_1", "read_file", json!({"path": "README.md"}))
            .usage(FakeUsage {
                input: 9_100,
                output: 10,
                ..FakeUsage::default()
            })
            .into(),
        answer("JWT it is", 9_200),
    ])
    .unwrap();
    let c = cairn(&home, &fake);
    let created = c.run(["run", "--name", "far", "-p", &notes(3_000)]);
    created.success();
    assert!(!created.stderr.contains(BUILT), "{}", created.stderr);

    let resumed = c.run(["run", "--resume", "far", "-p", "what do we use?"]);
    resumed.success().stdout_has(&["JWT it is"]);
    assert!(
        !resumed.stderr.contains(BUILT),
        "a resumed run far from the window built the tokenizer:\n{}",
        resumed.stderr
    );
    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    // Both requests of the resumed turn carried the whole context.
    for request in &requests[1..] {
        let body = request.body.to_string();
        assert!(body.contains("note2999") && body.contains("what do we use?"));
    }
    // The size kept on the session is the provider's figure for the last request
    // plus a bound of the answer that followed it, not a count.
    let shown = c.run(["sessions", "show", "far", "--json"]).json();
    let live = shown["live_tokens"].as_u64().unwrap();
    assert!(
        (9_200..9_200 + 200).contains(&live),
        "live_tokens {live}: {shown}"
    );
}

/// A request the provider refuses (400: nothing to retry).
fn refused() -> Turn {
    Turn::Error(ErrorReply {
        status: 400,
        message: "unsupported parameter".into(),
        ..ErrorReply::default()
    })
}

#[test]
fn a_refused_request_does_not_build_the_tokenizer() {
    let home = TestHome::with_git();
    let fake = FakeLlm::start([refused(), answer("noted", 9_000), refused()]).unwrap();
    let c = cairn(&home, &fake);
    // A new session whose first request fails: no figure was ever reported.
    let first = c.run(["run", "--name", "refused", "-p", "hello there"]);
    first.code(1).stderr_has(&["400"]);
    assert!(
        !first.stderr.contains(BUILT),
        "a refused first request built the tokenizer:\n{}",
        first.stderr
    );
    let shown = c.run(["sessions", "show", "refused", "--json"]).json();
    let live = shown["live_tokens"].as_u64().unwrap();
    // The byte bound of the one message (11 bytes and its framing).
    assert!((11..64).contains(&live), "live_tokens {live}: {shown}");

    c.run(["run", "--resume", "refused", "-p", "again"])
        .success();
    // A resumed session whose request fails: its stored figure plus the new message.
    let failed = c.run(["run", "--resume", "refused", "-p", "and once more"]);
    failed.code(1).stderr_has(&["400"]);
    assert!(!failed.stderr.contains(BUILT), "{}", failed.stderr);
    let shown = c.run(["sessions", "show", "refused", "--json"]).json();
    let live = shown["live_tokens"].as_u64().unwrap();
    assert!(
        (9_000 + 13..9_000 + 200).contains(&live),
        "live_tokens {live}: {shown}"
    );
}

#[test]
fn a_resumed_run_whose_bound_nears_the_window_is_counted_before_it_is_sent() {
    let home = TestHome::with_git();
    let fake = FakeLlm::start([
        answer("noted", 50_000),
        Turn::summary(&json!({
            "goal": "keep the notes",
            "progress": "notes taken",
            "decisions": ["summarized notes"],
            "files": [],
            "next_steps": ["go on"],
            "knowledge": [],
        })),
        answer("going on", 2_000),
    ])
    .unwrap();
    // gpt-4o: a 128k-token window, which 14,000 notes (100 KB) near by their bytes.
    let c = cairn(&home, &fake).env("CAIRN_MODEL", "openai:gpt-4o");
    c.run(["run", "--name", "near", "-p", &notes(14_000)])
        .success();
    // A level the notes (about 40k tokens) have passed: found only by counting.
    std::fs::write(
        home.config_file(),
        "[[compression.pressure_levels]]\nthreshold = 20000\ntarget_ratio = 2.0\n",
    )
    .unwrap();
    let resumed = c.run(["run", "--resume", "near", "-p", "go on"]);
    resumed.success().stderr_has(&[BUILT]);
    let requests = fake.requests();
    assert_eq!(requests.len(), 3, "{}", resumed.stderr);
    // The level was relieved before the turn's request: it carries the summary, not
    // the notes.
    let sent = requests[2].body.to_string();
    assert!(
        sent.contains("go on") && sent.contains("summarized notes"),
        "{sent}"
    );
    assert!(
        !sent.contains("note13999"),
        "the request went before the count"
    );
}
