//! `cairn run --model gemini:…` end to end: the real binary, a private CAIRN_HOME and
//! the scripted fake LLM server speaking Gemini's wire format.

use cairn_testkit::cli::Cairn;
use cairn_testkit::fake_llm::{FakeLlm, FakeUsage, Fault, Reply, Turn};
use cairn_testkit::home::TestHome;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_cairn");

fn cairn(home: &TestHome, fake: &FakeLlm) -> Cairn {
    Cairn::new(BIN, home).with_fake_gemini(fake)
}

/// Every key used anywhere in a JSON value.
fn all_keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                all_keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| all_keys(i, out)),
        _ => {}
    }
}

#[test]
fn one_shot_with_a_tool_call_through_gemini() {
    let home = TestHome::new();
    std::fs::write(home.project.join("README.md"), "# Fixture\nUses JWT.\n").unwrap();
    let fake = FakeLlm::start([
        Reply::new()
            .thinking("I should read the README.", "c2ln")
            .tool_call("unused", "read_file", json!({"path": "README.md"}))
            .into(),
        Turn::text("The project uses JWT."),
    ])
    .unwrap();
    fake.require_api_key("test-gemini-key");
    let c = cairn(&home, &fake);
    c.run([
        "run",
        "--model",
        "gemini:gemini-2.5-flash",
        "--name",
        "g",
        "-p",
        "what auth does it use?",
    ])
    .success()
    .stdout_has(&["The project uses JWT."]);

    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert_eq!(
            r.path,
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
        );
        assert_eq!(r.key_accepted, Some(true));
    }
    // cairn's own tool schemas, as Gemini takes them.
    let declarations = &requests[0].body["tools"][0]["functionDeclarations"];
    let names: Vec<&str> = declarations
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"read_file") && names.contains(&"shell"),
        "{names:?}"
    );
    let mut keys = Vec::new();
    all_keys(declarations, &mut keys);
    for refused in [
        "$schema",
        "additionalProperties",
        "$ref",
        "$defs",
        "const",
        "oneOf",
    ] {
        assert!(
            !keys.iter().any(|k| k == refused),
            "{refused} in {declarations}"
        );
    }
    // The answer to the call goes back under the call's name, after the thought.
    let contents = requests[1].body["contents"].as_array().unwrap().clone();
    let model = &contents[contents.len() - 2];
    assert_eq!(model["role"], "model");
    assert_eq!(
        model["parts"][0],
        json!({"text": "I should read the README.", "thought": true, "thoughtSignature": "c2ln"})
    );
    assert_eq!(model["parts"][1]["functionCall"]["name"], "read_file");
    let reply = &contents[contents.len() - 1];
    assert_eq!(reply["role"], "user");
    let response = &reply["parts"][0]["functionResponse"];
    assert_eq!(response["name"], "read_file");
    assert!(
        response["response"]["output"]
            .as_str()
            .unwrap()
            .contains("Uses JWT."),
        "{response}"
    );
}

#[test]
fn cached_and_thinking_tokens_are_recorded_priced_and_limited() {
    let home = TestHome::new();
    home.write_config("max_session_spending_threshold = 0.5\n");
    // gemini-2.5-pro: 150k prompt tokens (under the 200k tier) and 60k thinking tokens:
    // 100k × 1.25 + 50k × 0.125 + (1k + 60k) × 10, per million = $0.74125.
    let usage = FakeUsage {
        input: 100_000,
        cache_read: 50_000,
        output: 1_000,
        reasoning: 60_000,
        cache_write: 0,
    };
    let fake = FakeLlm::start([
        Reply::new()
            .thinking("Long thoughts.", "c2ln")
            .tool_call("unused", "list_files", json!({"path": "."}))
            .usage(usage)
            .into(),
        Turn::text("never sent"),
    ])
    .unwrap();
    let c = cairn(&home, &fake);
    c.run([
        "run",
        "--model",
        "gemini:gemini-2.5-pro",
        "--name",
        "costly",
        "-p",
        "list it",
    ])
    .code(4)
    .stderr_has(&["spending limit reached", "max_session_spending_threshold"]);
    assert_eq!(fake.requests().len(), 1);
    let json = c.run(["usage", "--by", "model", "--json"]).success().json();
    assert_eq!(json["rows"][0]["key"], "gemini:gemini-2.5-pro");
    let total = &json["total"];
    assert_eq!(total["input_tokens"], 100_000, "{total}");
    assert_eq!(total["cache_read_tokens"], 50_000, "{total}");
    assert_eq!(total["output_tokens"], 1_000, "{total}");
    assert_eq!(total["reasoning_tokens"], 60_000, "{total}");
    let cost = total["cost_usd"].as_f64().unwrap();
    assert!((cost - 0.74125).abs() < 1e-9, "{total}");
}

#[test]
fn a_refused_key_a_blocked_prompt_and_a_malformed_chunk_are_plain_errors() {
    let home = TestHome::new();
    let fake = FakeLlm::start([
        Reply::new().prompt_blocked("SAFETY").into(),
        Reply::new()
            .text("half an answer")
            .chunk_size(4)
            .fault(Fault::Malformed { after_events: 2 })
            .into(),
        Turn::text("whole again"),
    ])
    .unwrap();
    let c = cairn(&home, &fake);
    let out = c.run(["run", "--name", "b", "-p", "something"]);
    out.code(1).stderr_has(&["blockReason SAFETY"]);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    let out = c.run(["run", "--resume", "b", "-p", "try again"]);
    out.code(1).stderr_has(&["gemini sent a malformed stream"]);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    c.run(["run", "--resume", "b", "-p", "once more"])
        .success()
        .stdout_has(&["whole again"]);

    fake.require_api_key("another-key");
    let out = c.run(["run", "--resume", "b", "-p", "again"]);
    out.code(1).stderr_has(&["GEMINI_API_KEY"]);
    assert!(!out.stderr.contains("test-gemini-key"), "{}", out.stderr);
}
