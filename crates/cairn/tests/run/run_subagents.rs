//! Sub-agents through the real binary: `cairn run` with the scripted fake LLM, the
//! model calling `delegate`, the child session in the store, its spend stopping the
//! run at the parent's limit (exit code 4).

use cairn_testkit::cli::Cairn;
use cairn_testkit::fake_llm::{FakeLlm, FakeUsage, Reply, Turn};
use cairn_testkit::home::TestHome;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_cairn");

fn fixture(home: &TestHome) {
    let p = &home.project;
    std::fs::create_dir_all(p.join("src")).unwrap();
    std::fs::write(
        p.join("src/auth.rs"),
        "pub const EXPIRY_MINUTES: u32 = 15;\n",
    )
    .unwrap();
}

fn cairn(home: &TestHome, fake: &FakeLlm) -> Cairn {
    Cairn::new(BIN, home).with_fake_openai(fake)
}

/// Every text of an OpenAI request body, joined.
fn all_text(body: &Value) -> String {
    let mut out = String::new();
    for m in body["messages"].as_array().unwrap() {
        if let Some(text) = m["content"].as_str() {
            out.push_str(text);
            out.push('\n');
        }
        for p in m["content"].as_array().into_iter().flatten() {
            if let Some(text) = p["text"].as_str() {
                out.push_str(text);
                out.push('\n');
            }
        }
    }
    out
}

#[test]
fn a_delegated_task_runs_as_a_child_session_and_its_answer_returns() {
    let home = TestHome::new();
    fixture(&home);
    let fake = FakeLlm::start([
        Turn::text("noted"),
        Reply::new()
            .tool_call(
                "call_d",
                "delegate",
                json!({"task": "Find the token expiry", "files": ["src/auth.rs"]}),
            )
            .into(),
        Reply::new()
            .tool_call("call_r", "read_file", json!({"path": "src/auth.rs"}))
            .into(),
        Turn::text("EXPIRY_MINUTES is 15 (src/auth.rs:1)."),
        Turn::text("Tokens live 15 minutes."),
    ])
    .unwrap();
    let c = cairn(&home, &fake);
    c.run(["run", "--name", "main", "-p", "PARENT-SECRET: remember me"])
        .success();
    let out = c.run([
        "run",
        "--name",
        "main",
        "--format",
        "jsonl",
        "-p",
        "how long do tokens live?",
    ]);
    out.success();
    let events: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let at = |t: &str| {
        types
            .iter()
            .position(|x| *x == t)
            .unwrap_or_else(|| panic!("{t} missing from {types:?}"))
    };
    assert!(at("sub_agent_started") < at("sub_agent_tool_use"));
    assert!(at("sub_agent_tool_use") < at("sub_agent_finished"));
    assert!(at("sub_agent_finished") < at("tool_result"));
    assert_eq!(types.last(), Some(&"done"), "{types:?}");
    let started = &events[at("sub_agent_started")];
    assert_eq!(started["session"], "main-sub-1");
    let finished = &events[at("sub_agent_finished")];
    assert_eq!(finished["requests"], 2);
    let result = &events[at("tool_result")];
    assert_eq!(result["name"], "delegate");
    assert!(
        result["content"]
            .as_str()
            .unwrap()
            .starts_with("EXPIRY_MINUTES is 15 (src/auth.rs:1)."),
        "{result}"
    );

    // The sub-agent's first request: the task, not the parent's history.
    let requests = fake.requests();
    assert_eq!(requests.len(), 5);
    let child = all_text(&requests[2].body);
    assert!(child.contains("Find the token expiry"), "{child}");
    assert!(!child.contains("PARENT-SECRET"), "{child}");
    // The parent's next request carries the child's answer.
    let parent = all_text(&requests[4].body);
    assert!(
        parent.contains("PARENT-SECRET") && parent.contains("EXPIRY_MINUTES is 15"),
        "{parent}"
    );

    // The child is a session whose parent is `main`.
    let shown = c
        .run(["sessions", "show", "main-sub-1", "--json"])
        .success()
        .json();
    assert_eq!(shown["parent_name"], "main", "{shown}");
    c.run(["sessions", "show", "main-sub-1"])
        .success()
        .stdout_has(&["main"]);
}

#[test]
fn a_sub_agents_spend_stops_the_run_at_the_parents_limit_with_exit_code_4() {
    let home = TestHome::new();
    fixture(&home);
    home.write_config("max_session_spending_threshold = 0.5\n");
    let expensive = FakeUsage {
        input: 1_000_000,
        ..FakeUsage::default()
    };
    let fake = FakeLlm::start([
        Reply::new()
            .tool_call("call_d", "delegate", json!({"task": "read everything"}))
            .into(),
        Reply::new()
            .tool_call("call_r", "read_file", json!({"path": "src/auth.rs"}))
            .usage(expensive)
            .into(),
        Turn::text("never sent"),
    ])
    .unwrap();
    let c = cairn(&home, &fake);
    c.run(["run", "--name", "costly", "-p", "go"])
        .code(4)
        .stderr_has(&["max_session_spending_threshold", "$0.50"]);
    assert_eq!(fake.requests().len(), 2);
    // The next run of the parent counts the child's spend (from the store) too.
    c.run(["run", "--resume", "costly", "-p", "more"]).code(4);
    assert_eq!(fake.requests().len(), 2);
    let child = c
        .run(["sessions", "show", "costly-sub-1", "--json"])
        .success()
        .json();
    assert!(child["cost_usd"].as_f64().unwrap() >= 2.0, "{child}");
}

#[test]
fn named_agents_run_side_by_side_through_the_binary_and_list_under_their_parent() {
    let home = TestHome::new();
    fixture(&home);
    home.write_config(
        "[[agents]]\nname = \"reviewer\"\ndescription = \"Reviews a change\"\n\
         system = \"ROLE-REVIEWER\"\ntools = [\"read_file\"]\n",
    );
    let hold: u64 = 800;
    let fake = FakeLlm::start([
        Reply::new()
            .tool_call(
                "call_g",
                "agent_context_gatherer",
                json!({"task": "analyze test coverage for src/"}),
            )
            .tool_call(
                "call_r",
                "agent_reviewer",
                json!({"task": "review src/auth.rs"}),
            )
            .into(),
        Reply::new().text("FIRST").headers_delay_ms(hold).into(),
        Reply::new().text("SECOND").headers_delay_ms(hold).into(),
        Turn::text("both agents answered"),
    ])
    .unwrap();
    let c = cairn(&home, &fake);
    let out = c.run([
        "run",
        "--name",
        "main",
        "--format",
        "jsonl",
        "-p",
        "Use the context_gatherer agent to analyze test coverage for src/",
    ]);
    out.success();
    let events: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let of = |t: &str| -> Vec<usize> {
        (0..events.len())
            .filter(|i| events[*i]["type"] == t)
            .collect()
    };
    let started = of("sub_agent_started");
    let finished = of("sub_agent_finished");
    assert_eq!((started.len(), finished.len()), (2, 2), "{events:?}");
    // Both started before either finished: they ran at the same time.
    assert!(started[1] < finished[0], "{events:?}");
    // Side by side, either may report its start first.
    let mut agents: Vec<&str> = started
        .iter()
        .map(|i| events[*i]["agent"].as_str().unwrap())
        .collect();
    agents.sort_unstable();
    assert_eq!(agents, ["context_gatherer", "reviewer"]);
    let at: Vec<u128> = fake
        .requests()
        .iter()
        .map(|r| r.received_at.as_millis())
        .collect();
    assert!(at[2].abs_diff(at[1]) < u128::from(hold), "{at:?}");
    // The reviewer ran with its configured prompt and tools.
    let reviewer = fake
        .requests()
        .into_iter()
        .find(|r| all_text(&r.body).contains("ROLE-REVIEWER"))
        .expect("a request of the reviewer");
    let tools: Vec<&str> = reviewer.body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(tools, ["read_file"]);

    let listed = c.run(["sessions", "list", "--tree"]);
    listed.success();
    let lines: Vec<&str> = listed.stdout.lines().collect();
    let row = |name: &str| {
        lines
            .iter()
            .position(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} not listed: {}", listed.stdout))
    };
    assert!(row("└ main-sub-1") > row("main "), "{}", listed.stdout);
    assert!(
        row("└ main-sub-2") > row("└ main-sub-1"),
        "{}",
        listed.stdout
    );
    let tree = c
        .run(["sessions", "list", "--tree", "--json"])
        .success()
        .json();
    assert_eq!(tree.as_array().unwrap().len(), 1, "{tree}");
    assert_eq!(tree[0]["name"], "main");
    let children: Vec<&str> = tree[0]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(children, ["main-sub-1", "main-sub-2"]);
}
