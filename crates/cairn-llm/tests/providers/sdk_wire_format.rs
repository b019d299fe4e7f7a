//! The fake server's wire formats, checked by the official `openai` and `anthropic`
//! Python SDKs (tests/python/llm/check_fake_llm_wire.py).

use std::path::PathBuf;
use std::process::Command;

use cairn_testkit::external::test_python as python;
use cairn_testkit::fake_llm::{FakeLlm, FakeUsage, Reply, Turn};
use serde_json::json;

fn reply(tool_id: &str) -> Turn {
    Turn::from(
        Reply::new()
            .thinking("Checking the file.", "sig-python")
            .text("Hello from the fake.")
            .tool_call(
                tool_id,
                "read_file",
                json!({"path": "src/main.rs", "range": [1, 20]}),
            )
            .chunk_size(3)
            .usage(FakeUsage {
                input: 100,
                output: 20,
                cache_read: 50,
                cache_write: 30,
                reasoning: 7,
            }),
    )
}

/// Runs `tests/python/llm/SCRIPT` against the fake server; it must exit 0 and print
/// `ok:`.
fn run_sdk_check(script: &str, fake: &FakeLlm) {
    let python = python();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/python/llm")
        .join(script);
    let output = Command::new(&python)
        .arg(&script)
        .arg(fake.url())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e}; run scripts/install-test-deps",
                python.display()
            )
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the SDK check failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.starts_with("ok:"), "{stdout}");
}

#[test]
fn official_sdks_parse_the_fake_server() {
    let mut turns: Vec<Turn> = (0..3).map(|_| reply("call_1")).collect();
    turns.extend((0..3).map(|_| reply("toolu_1")));
    turns.push(Turn::rate_limited("3"));
    turns.push(Turn::rate_limited("3"));
    let fake = FakeLlm::start(turns).unwrap();
    run_sdk_check("check_fake_llm_wire.py", &fake);

    // The requests really came from the SDKs, in the expected formats.
    let sent = fake.requests();
    assert_eq!(sent.len(), 8, "{sent:#?}");
    assert_eq!(fake.remaining(), 0);
    for request in &sent[..3] {
        assert_eq!(request.path, "/v1/chat/completions");
        assert!(
            request
                .header("user-agent")
                .unwrap_or("")
                .starts_with("OpenAI/Python"),
            "{:?}",
            request.headers
        );
    }
    assert_eq!(
        sent[0].body["stream_options"],
        json!({"include_usage": true})
    );
    for request in &sent[3..6] {
        assert_eq!(request.path, "/v1/messages");
        assert!(
            request
                .header("user-agent")
                .unwrap_or("")
                .starts_with("Anthropic/Python"),
            "{:?}",
            request.headers
        );
        // Whichever auth header the SDK uses, its value is never recorded.
        let auth = request
            .header("x-api-key")
            .or(request.header("authorization"));
        assert_eq!(auth, Some("<redacted>"), "{:?}", request.headers);
        assert!(request.header("anthropic-version").is_some());
    }
}

/// The fake's Gemini wire format and Files API, checked by Google's `google-genai`
/// Python SDK (tests/python/llm/check_fake_gemini_wire.py).
#[test]
fn google_sdk_parses_the_fake_gemini_server() {
    let reply = || {
        Turn::from(
            Reply::new()
                .thinking("Checking the file.", "c2lnLXB5dGhvbg==")
                .text("Hello from the fake.")
                .tool_call(
                    "unused",
                    "read_file",
                    json!({"path": "src/main.rs", "range": [1, 20]}),
                )
                .chunk_size(3)
                .usage(FakeUsage {
                    input: 100,
                    output: 20,
                    cache_read: 50,
                    cache_write: 0,
                    reasoning: 7,
                }),
        )
    };
    let fake = FakeLlm::start([reply(), reply(), Turn::rate_limited("3")]).unwrap();
    fake.require_api_key("test-gemini-key");
    run_sdk_check("check_fake_gemini_wire.py", &fake);
    assert_eq!(fake.remaining(), 0);
    let sent = fake.requests();
    let generate: Vec<_> = sent
        .iter()
        .filter(|r| r.path.starts_with("/v1beta/models/"))
        .collect();
    assert_eq!(generate.len(), 3, "{sent:#?}");
    assert_eq!(
        generate[0].path,
        "/v1beta/models/gemini-2.5-pro:streamGenerateContent"
    );
    assert_eq!(generate[0].query, "alt=sse");
    assert_eq!(
        generate[1].path,
        "/v1beta/models/gemini-2.5-pro:generateContent"
    );
    assert!(
        generate[0]
            .header("x-goog-api-client")
            .unwrap_or("")
            .contains("google-genai-sdk"),
        "{:?}",
        generate[0].headers
    );
    assert!(
        sent.iter().all(|r| r.key_accepted != Some(false)),
        "{sent:#?}"
    );
    let files = fake.uploaded_files();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].mime, "video/mp4");
    assert_eq!(files[0].bytes.len(), 12 + 256 * 64);
}
