//! cairn as an MCP client: `cairn run` with `[mcp_servers]` offers the servers' tools
//! as `mcp__<server>__<tool>` and calls them through rmcp's client. The servers are
//! real: a tiny server on the official Python SDK (`tests/python/mcp_client/`) and
//! `cairn mcp` itself, both over stdio. The model is the scripted fake LLM.

use std::path::PathBuf;

use cairn_testkit::cli::Cairn;
use cairn_testkit::external::test_python;
use cairn_testkit::fake_llm::{FakeLlm, Reply, Turn};
use cairn_testkit::home::TestHome;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_cairn");
const SECRET: &str = "tiny-s3cret-value";

fn tiny_server() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/mcp_client/tiny_server.py")
}

/// `[mcp_servers.tiny]` running the Python server, plus `extra` lines in that table.
fn tiny_config(extra: &str) -> String {
    format!(
        "[mcp_servers.tiny]\ncommand = {:?}\nargs = [{:?}]\n\
         env = {{ TINY_TOKEN = \"$TINY_SECRET\" }}\ntool_timeout_secs = 3\n\
         startup_timeout_secs = 30\n{extra}",
        test_python().display().to_string(),
        tiny_server().display().to_string(),
    )
}

fn cairn(home: &TestHome, fake: &FakeLlm) -> Cairn {
    Cairn::new(BIN, home)
        .with_fake_openai(fake)
        .env("TINY_SECRET", SECRET)
}

/// The tool results (role `tool` messages) of an OpenAI request body, in order.
fn tool_results(body: &Value) -> Vec<String> {
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn tool<'a>(body: &'a Value, name: &str) -> Option<&'a Value> {
    body["tools"]
        .as_array()?
        .iter()
        .find(|t| t["function"]["name"] == name)
}

#[test]
fn a_python_mcp_servers_tools_are_listed_called_timed_out_and_survive_a_crash() {
    let home = TestHome::new();
    home.write_config(&tiny_config("allow_tools = [\"*\"]\n"));
    let fake = FakeLlm::start([
        Reply::new()
            .tool_call("c1", "mcp__tiny__shout", json!({"text": "hello"}))
            .tool_call("c2", "mcp__tiny__has_token", json!({}))
            .tool_call("c3", "mcp__tiny__sleepy", json!({"seconds": 30}))
            .tool_call("c4", "mcp__tiny__crash", json!({}))
            .tool_call("c5", "mcp__tiny__shout", json!({"text": "again"}))
            .into(),
        Turn::text("all five came back"),
    ])
    .unwrap();
    let c = cairn(&home, &fake);
    let started = std::time::Instant::now();
    c.run(["run", "--name", "mcp", "-p", "use the tiny tools"])
        .success()
        .stdout_has(&["all five came back"]);
    // The timeout (3 s) held, not the tool's 30 s.
    assert!(started.elapsed().as_secs() < 25, "{:?}", started.elapsed());

    let requests = fake.requests();
    let shout = tool(&requests[0].body, "mcp__tiny__shout").expect("shout offered");
    assert_eq!(
        shout["function"]["parameters"]["properties"]["text"]["type"], "string",
        "{shout}"
    );
    assert!(
        shout["function"]["description"]
            .as_str()
            .unwrap()
            .contains("Upper-case"),
        "{shout}"
    );
    let results = tool_results(&requests[1].body);
    assert_eq!(results.len(), 5, "{results:?}");
    assert_eq!(results[0], "HELLO!");
    assert_eq!(results[1], "token: set");
    assert!(
        results[2].contains("did not answer sleepy within 3 s"),
        "{}",
        results[2]
    );
    assert!(
        results[3].contains("MCP server tiny failed"),
        "{}",
        results[3]
    );
    // Started again after the crash.
    assert_eq!(results[4], "AGAIN!");

    // The secret reached the server's environment and nothing of cairn's.
    let exported = c.run(["sessions", "export", "mcp"]);
    exported.success();
    assert!(!exported.stdout.contains(SECRET));
    let listed = c.run(["mcp-servers", "list", "--json"]).success().json();
    assert_eq!(listed[0]["name"], "tiny");
    assert_eq!(listed[0]["env"], json!(["TINY_TOKEN"]));
    assert!(!listed.to_string().contains(SECRET));
}

#[test]
fn mcp_tools_need_approval_like_shell_in_one_shot_mode() {
    let home = TestHome::new();
    home.write_config(&tiny_config("allow_tools = [\"shout\"]\n"));
    let fake = FakeLlm::start([
        Reply::new()
            .tool_call("c1", "mcp__tiny__shout", json!({"text": "ok"}))
            .tool_call("c2", "mcp__tiny__crash", json!({}))
            .into(),
        Turn::text("one refused"),
        Reply::new()
            .tool_call("c3", "mcp__tiny__has_token", json!({}))
            .into(),
        Turn::text("with --yes it ran"),
    ])
    .unwrap();
    let c = cairn(&home, &fake);
    c.run(["run", "--name", "ok", "-p", "go"]).success();
    let results = tool_results(&fake.requests()[1].body);
    assert_eq!(results[0], "OK!");
    assert!(
        results[1].contains("refused:") && results[1].contains("allow_tools"),
        "{}",
        results[1]
    );
    c.run(["run", "--name", "ok", "--yes", "-p", "again"])
        .success();
    let results = tool_results(&fake.requests()[3].body);
    assert_eq!(results.last().unwrap(), "token: set");
}

#[test]
fn cairn_mcp_itself_serves_as_a_tool_server_and_mcp_servers_test_lists_its_tools() {
    let home = TestHome::new();
    home.write_config(&format!(
        "[mcp_servers.cairn]\ncommand = {BIN:?}\nargs = [\"mcp\"]\nallow_tools = [\"where_was_i\"]\n"
    ));
    let fake = FakeLlm::start([
        Reply::new()
            .tool_call("c1", "mcp__cairn__where_was_i", json!({}))
            .into(),
        Turn::text("looked"),
    ])
    .unwrap();
    let c = cairn(&home, &fake);
    let tested = c
        .run(["mcp-servers", "test", "cairn", "--json"])
        .success()
        .json();
    let names: Vec<&str> = tested["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"where_was_i"), "{names:?}");
    c.run(["mcp-servers", "test", "cairn"])
        .success()
        .stdout_has(&["mcp__cairn__save_progress"]);
    c.run(["run", "--name", "meta", "-p", "where was I?"])
        .success();
    let results = tool_results(&fake.requests()[1].body);
    assert_eq!(results.len(), 1);
    assert!(
        !results[0].is_empty() && !results[0].starts_with("refused"),
        "{}",
        results[0]
    );
    // `/mcp` shows the server running with its tools.
    let out = c.run(["run", "--name", "meta", "--format", "jsonl", "-p", "/mcp"]);
    out.success();
    let shown = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["type"] == "command_output")
        .expect("the output of /mcp");
    let server = &shown["data"]["servers"][0];
    assert_eq!(server["state"], "running", "{shown}");
    assert!(
        server["tools"]
            .as_array()
            .unwrap()
            .contains(&json!("mcp__cairn__where_was_i")),
        "{shown}"
    );
}

#[test]
fn a_server_that_cannot_start_is_a_clear_error_and_a_project_may_not_add_servers() {
    let home = TestHome::new();
    home.write_config("[mcp_servers.ghost]\ncommand = \"/nonexistent/mcp-server\"\n");
    let fake = FakeLlm::start([Turn::text("fine without it")]).unwrap();
    let c = cairn(&home, &fake);
    c.run(["mcp-servers", "test", "ghost"])
        .code(1)
        .stderr_has(&["ghost", "cannot start"]);
    // The run goes on without the server's tools.
    c.run(["run", "-p", "hi"])
        .success()
        .stdout_has(&["fine without it"]);
    assert!(tool(&fake.requests()[0].body, "mcp__ghost__x").is_none());

    home.write_project_config("[mcp_servers.evil]\ncommand = \"sh\"\n");
    c.run(["mcp-servers", "list"])
        .code(1)
        .stderr_has(&["mcp_servers", "only allowed in your own config.toml"]);
}
