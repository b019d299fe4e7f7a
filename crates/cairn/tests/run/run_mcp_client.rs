//! cairn as an MCP client: `cairn run` with `[mcp_servers]` offers the servers' tools
//! as `mcp__<server>__<tool>` and calls them through rmcp's client. The servers are
//! real: a tiny server on the official Python SDK (`tests/python/mcp_client/`) and
//! `cairn mcp` itself, each over stdio and over streamable HTTP (loopback, behind a
//! bearer token); and a project's `.mcp.json`, used only once approved. The model is
//! the scripted fake LLM.

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

const HTTP_TOKEN: &str = "http-b3arer-s3cret";

/// The tiny server over streamable HTTP on a free loopback port; killed on drop.
struct HttpServer {
    child: std::process::Child,
    url: String,
}

impl HttpServer {
    fn start() -> HttpServer {
        let mut python = std::process::Command::new(test_python());
        python
            .arg(tiny_server())
            .arg("--http")
            .env("TINY_HTTP_TOKEN", HTTP_TOKEN);
        let (child, port) = HttpServer::spawn(python, true);
        HttpServer {
            child,
            url: format!("http://127.0.0.1:{}/mcp", port.trim()),
        }
    }

    /// `cairn mcp --http` on a free loopback port, behind `token`.
    fn cairn(home: &TestHome, token: &str) -> HttpServer {
        let mut cairn = std::process::Command::new(BIN);
        cairn
            .args(["mcp", "--http", "127.0.0.1:0", "--token", token])
            .current_dir(&home.project)
            .env("CAIRN_HOME", &home.cairn_home)
            .env("HOME", &home.user_home);
        // The suite on PostgreSQL: the store `cairn run` uses too.
        if let Some(url) = &home.store_url {
            cairn.env("CAIRN_STORE_URL", url);
        }
        let (child, line) = HttpServer::spawn(cairn, false);
        let url = line
            .trim()
            .rsplit(' ')
            .next()
            .expect("cairn mcp: listening on URL")
            .to_owned();
        HttpServer { child, url }
    }

    /// Start `command` and read its first line from stdout (or stderr).
    fn spawn(mut command: std::process::Command, stdout: bool) -> (std::process::Child, String) {
        use std::io::BufRead;
        use std::process::Stdio;
        let (out, err) = if stdout {
            (Stdio::piped(), Stdio::null())
        } else {
            (Stdio::null(), Stdio::piped())
        };
        let mut child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start the HTTP server");
        let pipe: Box<dyn std::io::Read> = if stdout {
            Box::new(child.stdout.take().expect("stdout"))
        } else {
            Box::new(child.stderr.take().expect("stderr"))
        };
        let mut line = String::new();
        std::io::BufReader::new(pipe)
            .read_line(&mut line)
            .expect("the first line");
        (child, line)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn http_config(url: &str) -> String {
    format!(
        "[mcp_servers.web]\nurl = {url:?}\nbearer_token_env = \"WEB_TOKEN\"\n\
         http_headers = {{ X-Tiny = \"hello\" }}\ntool_timeout_secs = 3\nallow_tools = [\"*\"]\n"
    )
}

#[test]
fn a_streamable_http_server_is_listed_called_timed_out_and_a_dead_one_is_a_quick_error() {
    let mut server = HttpServer::start();
    let home = TestHome::new();
    home.write_config(&http_config(&server.url));
    let fake = FakeLlm::start([
        Reply::new()
            .tool_call("c1", "mcp__web__shout", json!({"text": "over http"}))
            .tool_call("c2", "mcp__web__sleepy", json!({"seconds": 30}))
            .tool_call("c3", "mcp__web__shout", json!({"text": "still there"}))
            .into(),
        Turn::text("http done"),
        Reply::new()
            .tool_call("c4", "mcp__web__shout", json!({"text": "anyone?"}))
            .into(),
        Turn::text("it was down"),
    ])
    .unwrap();
    let c = Cairn::new(BIN, &home)
        .with_fake_openai(&fake)
        .env("WEB_TOKEN", HTTP_TOKEN);
    let tested = c
        .run(["mcp-servers", "test", "web", "--json"])
        .success()
        .json();
    assert!(
        tested["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "shout"),
        "{tested}"
    );
    let started = std::time::Instant::now();
    c.run(["run", "--name", "web", "-p", "use the web tools"])
        .success()
        .stdout_has(&["http done"]);
    assert!(started.elapsed().as_secs() < 25, "{:?}", started.elapsed());
    let requests = fake.requests();
    let shout = tool(&requests[0].body, "mcp__web__shout").expect("shout offered over HTTP");
    assert_eq!(
        shout["function"]["parameters"]["properties"]["text"]["type"],
        "string"
    );
    let results = tool_results(&requests[1].body);
    assert_eq!(results[0], "OVER HTTP!");
    assert!(
        results[1].contains("did not answer sleepy within 3 s"),
        "{}",
        results[1]
    );
    assert_eq!(results[2], "STILL THERE!");

    // The token went into the requests and nowhere else.
    let exported = c.run(["sessions", "export", "web"]);
    exported.success();
    assert!(!exported.stdout.contains(HTTP_TOKEN));
    let listed = c.run(["mcp-servers", "list", "--json"]).success().json();
    assert_eq!(listed[0]["transport"], "http");
    assert_eq!(listed[0]["bearer_token_env"], "WEB_TOKEN");
    assert!(!listed.to_string().contains(HTTP_TOKEN));

    // A server that is down: a clear error at once, not a hung turn.
    server.stop();
    let started = std::time::Instant::now();
    c.run(["run", "--name", "down", "-p", "try again"])
        .success()
        .stdout_has(&["it was down"]);
    assert!(started.elapsed().as_secs() < 15, "{:?}", started.elapsed());
    let results = tool_results(&fake.requests()[3].body);
    assert!(
        results[0].contains("web") && results[0].contains(&server.url),
        "{}",
        results[0]
    );
}

#[test]
fn a_wrong_token_or_a_missing_variable_is_named_and_the_token_never_shows() {
    let server = HttpServer::start();
    let home = TestHome::new();
    home.write_config(&http_config(&server.url));
    let fake = FakeLlm::start([]).unwrap();
    let wrong = Cairn::new(BIN, &home)
        .with_fake_openai(&fake)
        .env("WEB_TOKEN", "not-the-token");
    let out = wrong.run(["mcp-servers", "test", "web"]);
    out.code(1).stderr_has(&["web", "Auth required"]);
    assert!(!out.stderr.contains("not-the-token"), "{}", out.stderr);
    Cairn::new(BIN, &home)
        .with_fake_openai(&fake)
        .run(["mcp-servers", "test", "web"])
        .code(1)
        .stderr_has(&["WEB_TOKEN", "bearer_token_env", "not set"]);
    // A header a person may not set is refused with the field named.
    home.write_config(&format!(
        "[mcp_servers.web]\nurl = {:?}\nhttp_headers = {{ Mcp-Session-Id = \"x\" }}\n",
        server.url
    ));
    wrong
        .run(["mcp-servers", "list"])
        .code(1)
        .stderr_has(&["mcp_servers.web", "Mcp-Session-Id"]);
}

/// `.mcp.json` proposing the tiny server as `proj` (and `tiny`, which the user's
/// config also names).
fn write_mcp_json(home: &TestHome, greeting_arg: &str) {
    let server = json!({
        "command": test_python().display().to_string(),
        "args": [tiny_server().display().to_string(), greeting_arg],
    });
    let file = json!({"mcpServers": {"proj": server, "tiny": {"command": "/nonexistent/evil"}}});
    std::fs::write(home.project.join(".mcp.json"), file.to_string()).unwrap();
}

#[test]
fn a_projects_mcp_json_is_used_only_after_approval_and_asks_again_when_it_changes() {
    let home = TestHome::new();
    home.write_config(&tiny_config("allow_tools = [\"*\"]\n"));
    write_mcp_json(&home, "--one");
    let call_both = || -> Turn {
        Reply::new()
            .tool_call("p", "mcp__proj__shout", json!({"text": "from the project"}))
            .tool_call("t", "mcp__tiny__shout", json!({"text": "from the user"}))
            .into()
    };
    let fake = FakeLlm::start([
        Reply::new()
            .tool_call("t", "mcp__tiny__shout", json!({"text": "from the user"}))
            .into(),
        Turn::text("unapproved"),
        call_both(),
        Turn::text("approved"),
        Turn::text("changed"),
        Turn::text("denied"),
    ])
    .unwrap();
    let c = cairn(&home, &fake);

    // Not approved: not started, said once, the user's own server works.
    let out = c.run(["run", "--name", "p1", "--yes", "-p", "go"]);
    out.success().stderr_has(&[
        ".mcp.json",
        "not approved",
        "proj (",
        "cairn mcp-servers approve",
    ]);
    assert_eq!(
        out.stderr.matches("not approved").count(),
        1,
        "{}",
        out.stderr
    );
    assert!(tool(&fake.requests()[0].body, "mcp__proj__shout").is_none());
    assert_eq!(tool_results(&fake.requests()[1].body), ["FROM THE USER!"]);
    let listed = c.run(["mcp-servers", "list", "--json"]).success().json();
    let proj = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "proj")
        .expect("proj listed");
    assert_eq!(proj["approval"], "not approved");
    assert_eq!(proj["source"], "project");

    // Approved: offered and called; the user's `tiny` still wins the name clash;
    // project tools are not in any allow-list, so one-shot needs --yes.
    c.run(["mcp-servers", "approve"])
        .success()
        .stdout_has(&["Approved", "proj"]);
    let out = c.run(["run", "--name", "p2", "--yes", "-p", "go"]);
    out.success();
    assert!(!out.stderr.contains("not approved"), "{}", out.stderr);
    assert!(tool(&fake.requests()[2].body, "mcp__proj__shout").is_some());
    let results = tool_results(&fake.requests()[3].body);
    assert_eq!(results[0], "FROM THE PROJECT!");
    assert_eq!(results[1], "FROM THE USER!");

    // The file changed: asked again (here: told again), not started.
    write_mcp_json(&home, "--two");
    c.run(["run", "--name", "p3", "-p", "go"])
        .success()
        .stderr_has(&["not approved"]);
    assert!(tool(&fake.requests()[4].body, "mcp__proj__shout").is_none());
    // Denied: never started, and not mentioned again.
    c.run(["mcp-servers", "deny"])
        .success()
        .stdout_has(&["Never"]);
    let out = c.run(["run", "--name", "p4", "-p", "go"]);
    out.success();
    assert!(!out.stderr.contains(".mcp.json"), "{}", out.stderr);
    assert!(tool(&fake.requests()[5].body, "mcp__proj__shout").is_none());
    // The decision is cairn's, not the repository's.
    assert!(home.cairn_home.join("mcp-approvals.json").exists());
    let in_project: Vec<_> = std::fs::read_dir(&home.project)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(in_project, [std::ffi::OsString::from(".mcp.json")]);
}

#[test]
fn a_malformed_mcp_json_is_named_with_its_field_and_the_session_still_runs() {
    let home = TestHome::new();
    std::fs::write(
        home.project.join(".mcp.json"),
        r#"{"mcpServers": {"bad": {"command": "x", "args": ["ok", 7]}}}"#,
    )
    .unwrap();
    let fake = FakeLlm::start([Turn::text("still here")]).unwrap();
    let c = cairn(&home, &fake);
    c.run(["run", "-p", "hi"])
        .success()
        .stdout_has(&["still here"])
        .stderr_has(&[".mcp.json", "mcpServers.bad.args[1]", "must be a string"]);
    c.run(["mcp-servers", "approve"])
        .code(1)
        .stderr_has(&["mcpServers.bad.args[1]"]);
    std::fs::write(home.project.join(".mcp.json"), "{ not json").unwrap();
    c.run(["mcp-servers", "list"])
        .success()
        .stderr_has(&[".mcp.json", "not valid JSON", "line 1"]);
}

#[test]
fn text_images_and_structured_content_are_stored_whole_and_cut_for_the_model() {
    let home = TestHome::new();
    home.write_config(&tiny_config("allow_tools = [\"gallery\"]\n"));
    let fake = FakeLlm::start([
        Reply::new()
            .tool_call("g", "mcp__tiny__gallery", json!({"words": 12000}))
            .into(),
        Turn::text("seen"),
    ])
    .unwrap();
    let c = cairn(&home, &fake);
    c.run(["run", "--name", "pics", "-p", "show me"]).success();
    let body = &fake.requests()[1].body;
    let text = &tool_results(body)[0];
    assert!(text.contains("left out here"), "cut for the model");
    assert!(text.len() < 40_000, "{}", text.len());
    assert!(text.starts_with("w0 w1 ") && text.contains("w11999"));
    // The image reaches the model (OpenAI: as user content after the tool message).
    let image_url = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["content"].as_array().into_iter().flatten())
        .find_map(|p| p["image_url"]["url"].as_str())
        .expect("the image sent");
    assert!(
        image_url.starts_with("data:image/png;base64,iVBORw0KGgo"),
        "{image_url}"
    );

    // The session keeps all of it: every word, the image, the structured content.
    let exported = c.run(["sessions", "export", "pics"]);
    exported.success();
    let result = exported
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e.to_string().contains("tool_result"))
        .expect("the tool result event");
    let stored = result.to_string();
    assert!(stored.contains("w5000 w5001"), "whole text stored");
    assert!(stored.contains("\"image/png\""), "{stored:.300}");
    assert!(stored.contains("\"structuredContent\":{\"pixels\":1,\"words\":12000}"));
}

#[test]
fn cairn_mcp_over_http_serves_cairn_run_as_a_tool_server() {
    let home = TestHome::new();
    let server = HttpServer::cairn(&home, HTTP_TOKEN);
    assert!(
        server.url.starts_with("http://127.0.0.1:"),
        "{}",
        server.url
    );
    home.write_config(&format!(
        "[mcp_servers.cairnhttp]\nurl = {:?}\nbearer_token_env_var = \"CAIRN_HTTP\"\n\
         allow_tools = [\"where_was_i\"]\n",
        server.url
    ));
    let fake = FakeLlm::start([
        Reply::new()
            .tool_call("c1", "mcp__cairnhttp__where_was_i", json!({}))
            .into(),
        Turn::text("looked over http"),
    ])
    .unwrap();
    let c = Cairn::new(BIN, &home)
        .with_fake_openai(&fake)
        .env("CAIRN_HTTP", HTTP_TOKEN);
    c.run(["mcp-servers", "test", "cairnhttp"])
        .success()
        .stdout_has(&["mcp__cairnhttp__save_progress"]);
    c.run(["run", "--name", "overhttp", "-p", "where was I?"])
        .success()
        .stdout_has(&["looked over http"]);
    let results = tool_results(&fake.requests()[1].body);
    assert!(
        !results[0].is_empty() && !results[0].contains("failed"),
        "{}",
        results[0]
    );
}
