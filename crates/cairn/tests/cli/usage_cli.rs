//! `cairn usage` through the real binary: a table and JSON from the store, a period,
//! a bad grouping refused with the choices, nothing created on a fresh machine.

use cairn_testkit::cli::Cairn;
use cairn_testkit::fake_llm::{FakeLlm, FakeUsage, Reply};
use cairn_testkit::home::TestHome;

#[test]
fn usage_of_a_run_by_model_and_day() {
    let home = TestHome::new();
    let c = Cairn::new(env!("CARGO_BIN_EXE_cairn"), &home);
    c.run(["usage"])
        .success()
        .stdout_has(&["No usage recorded"]);
    assert!(!home.store_file().exists());

    let fake = FakeLlm::start([Reply::new()
        .text("hello")
        .usage(FakeUsage {
            input: 1200,
            output: 30,
            ..FakeUsage::default()
        })
        .into()])
    .unwrap();
    let c = c.with_fake_openai(&fake);
    c.run(["run", "-p", "hi", "--name", "u1"]).success();
    let json = c.run(["usage", "--by", "model", "--json"]).success().json();
    assert_eq!(json["by"], "model");
    assert_eq!(json["rows"][0]["key"], "openai:gpt-4.1");
    assert_eq!(json["rows"][0]["requests"], 1);
    assert_eq!(json["total"]["input_tokens"], 1200);
    assert_eq!(json["total"]["output_tokens"], 30);
    c.run(["usage", "--by", "day"])
        .success()
        .stdout_has(&["REQUESTS", "1.2k", "total"]);
    let later = c
        .run(["usage", "--since", "2999-01-01", "--json"])
        .success()
        .json();
    assert_eq!(later["rows"], serde_json::json!([]));
    c.run(["usage", "--by", "month"])
        .code(2)
        .stderr_has(&["month", "week"]);
    c.run(["usage", "--since", "yesterday"])
        .code(2)
        .stderr_has(&["--since", "30d"]);
}
