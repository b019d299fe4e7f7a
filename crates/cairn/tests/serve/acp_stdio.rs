//! `cairn acp` at the byte level: hostile and mistaken requests get JSON-RPC errors
//! that name the field and the rule, nothing but JSON-RPC reaches stdout, and the
//! agent leaves cleanly when the client closes stdin.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

use cairn_core::{Role, SessionName};
use cairn_store_sqlite::Synchronous;
use cairn_testkit::fake_llm::{FakeLlm, Reply};
use cairn_testkit::home::TestHome;
use serde_json::{Value, json};

const CAIRN: &str = env!("CARGO_BIN_EXE_cairn");

/// Starts `cairn acp`, initializes (as a client does, waiting for the answer), sends
/// `lines`, closes stdin, and returns every stdout message and stderr.
fn exchange(
    home: &TestHome,
    fake: &FakeLlm,
    model: &str,
    lines: &[String],
) -> (Vec<Value>, String) {
    let mut child = Command::new(CAIRN)
        .arg("acp")
        .current_dir(&home.project)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home.user_home)
        .env("CAIRN_HOME", &home.cairn_home)
        .env("OPENAI_API_KEY", "test-key")
        .env("OPENAI_BASE_URL", fake.openai_base_url())
        .env("CAIRN_MODEL", model)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    writeln!(
        stdin,
        "{}",
        request(0, "initialize", json!({"protocolVersion": 1}))
    )
    .unwrap();
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    for line in lines {
        writeln!(stdin, "{line}").unwrap();
    }
    drop(stdin);
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}\n{stderr}");
    let messages = first
        .lines()
        .chain(rest.lines())
        .map(|line| {
            serde_json::from_str::<Value>(line)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line:?}\n{stderr}"))
        })
        .collect::<Vec<_>>();
    for m in &messages {
        assert_eq!(m["jsonrpc"], "2.0", "{m}");
    }
    (messages, stderr)
}

fn response(messages: &[Value], id: u64) -> &Value {
    messages
        .iter()
        .find(|m| m["id"] == json!(id))
        .unwrap_or_else(|| panic!("no response to request {id} in {messages:#?}"))
}

fn error_message(messages: &[Value], id: u64) -> String {
    let r = response(messages, id);
    r["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("request {id} did not fail: {r}"))
        .to_owned()
}

fn request(id: u64, method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

#[test]
fn mistaken_and_hostile_requests_get_errors_naming_the_rule() {
    let home = TestHome::with_git();
    let fake = FakeLlm::start([]).unwrap();
    let project = home.project.to_string_lossy().into_owned();
    let lines = vec![
        "this is not JSON".to_owned(),
        request(
            2,
            "session/prompt",
            json!({"sessionId": "nope", "prompt": [{"type": "text", "text": "hi"}]}),
        ),
        request(
            3,
            "session/new",
            json!({"cwd": "relative/dir", "mcpServers": []}),
        ),
        request(
            4,
            "session/load",
            json!({"sessionId": "../../etc/passwd", "cwd": project, "mcpServers": []}),
        ),
        request(5, "session/list", json!({"cursor": "zzz"})),
        request(
            6,
            "session/new",
            json!({"cwd": project, "mcpServers": [], "_meta": {"cairn": {"name": 42}}}),
        ),
        request(
            7,
            "session/load",
            json!({"sessionId": "never-made", "cwd": project, "mcpServers": []}),
        ),
        request(8, "no/such", json!({})),
        request(9, "session/list", json!({})),
    ];
    let (messages, stderr) = exchange(&home, &fake, "openai:gpt-4.1", &lines);

    assert_eq!(response(&messages, 0)["result"]["protocolVersion"], 1);
    let parse = messages
        .iter()
        .find(|m| m["id"].is_null())
        .expect("a parse error for the line that is not JSON");
    assert_eq!(parse["error"]["code"], json!(-32700));
    let not_open = error_message(&messages, 2);
    assert!(
        not_open.contains("nope") && not_open.contains("session/new or session/load"),
        "{not_open}"
    );
    let relative = error_message(&messages, 3);
    assert!(relative.contains("absolute"), "{relative}");
    let bad_name = error_message(&messages, 4);
    assert!(bad_name.contains("A-Za-z0-9"), "{bad_name}");
    let cursor = error_message(&messages, 5);
    assert!(
        cursor.contains("cursor") && cursor.contains("zzz"),
        "{cursor}"
    );
    let meta = error_message(&messages, 6);
    assert!(meta.contains("_meta.cairn.name"), "{meta}");
    let missing = error_message(&messages, 7);
    assert!(missing.contains("never-made"), "{missing}");
    assert_eq!(
        response(&messages, 7)["error"]["code"],
        json!(-32002),
        "a missing session is `resource not found`"
    );
    assert_eq!(response(&messages, 8)["error"]["code"], json!(-32601));
    assert_eq!(response(&messages, 9)["result"]["sessions"], json!([]));
    // Nothing was sent to the provider; nothing but warnings on stderr.
    assert!(fake.requests().is_empty());
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn without_a_usable_model_session_new_says_what_to_set() {
    let home = TestHome::with_git();
    let fake = FakeLlm::start([]).unwrap();
    let project = home.project.to_string_lossy().into_owned();
    let (messages, _) = exchange(
        &home,
        &fake,
        "nosuchprovider:model",
        &[request(
            1,
            "session/new",
            json!({"cwd": project, "mcpServers": []}),
        )],
    );
    let message = error_message(&messages, 1);
    assert!(message.contains("nosuchprovider"), "{message}");
}

#[test]
fn a_client_that_leaves_mid_turn_leaves_the_answer_interrupted_and_the_lease_free() {
    let home = TestHome::with_git();
    let fake = FakeLlm::start([Reply::new()
        .text("word ".repeat(400))
        .chunk_delay_ms(50)
        .into()])
    .unwrap();
    let project = home.project.to_string_lossy().into_owned();
    let mut child = Command::new(CAIRN)
        .arg("acp")
        .current_dir(&home.project)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home.user_home)
        .env("CAIRN_HOME", &home.cairn_home)
        .env("OPENAI_API_KEY", "test-key")
        .env("OPENAI_BASE_URL", fake.openai_base_url())
        .env("CAIRN_MODEL", "openai:gpt-4.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut next = || {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "stdout closed");
        serde_json::from_str::<Value>(&line).unwrap()
    };
    writeln!(
        stdin,
        "{}",
        request(0, "initialize", json!({"protocolVersion": 1}))
    )
    .unwrap();
    next();
    let new_session =
        json!({"cwd": project, "mcpServers": [], "_meta": {"cairn": {"name": "left"}}});
    writeln!(stdin, "{}", request(1, "session/new", new_session)).unwrap();
    while next()["id"] != json!(1) {}
    let prompt = json!({"sessionId": "left", "prompt": [{"type": "text", "text": "talk"}]});
    writeln!(stdin, "{}", request(2, "session/prompt", prompt)).unwrap();
    // The answer is streaming: the client goes away.
    while next()["params"]["update"]["sessionUpdate"] != json!("agent_message_chunk") {}
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let store =
            cairn_store_sqlite::open_store(&home.store_file(), Synchronous::Normal).unwrap();
        let session = store
            .session(&SessionName::parse("left").unwrap())
            .await
            .unwrap();
        let events = store.events_after(session.id, 0, 1000).await.unwrap();
        let partial: Vec<_> = events
            .iter()
            .filter_map(|e| e.payload.as_message())
            .filter(|m| m.role == Role::Assistant)
            .collect();
        assert_eq!(partial.len(), 1, "{events:#?}");
        assert!(partial[0].interrupted, "{:#?}", partial[0]);
        assert!(partial[0].plain_text().starts_with("word"));
        assert_eq!(
            store.lease(session.id).await.unwrap(),
            None,
            "lease released"
        );
    });
}

#[test]
fn session_fork_is_advertised_and_forks_without_copying() {
    let home = TestHome::with_git();
    let fake = FakeLlm::start([]).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let main = SessionName::parse("main").unwrap();
    runtime.block_on(async {
        let store =
            cairn_store_sqlite::open_store(&home.store_file(), Synchronous::Normal).unwrap();
        let mut new = cairn_core::NewSession::new(
            main.clone(),
            cairn_core::Project::from_stored(home.project_key()),
        );
        new.model = Some("openai:gpt-4.1".into());
        let s = store.create_session(new).await.unwrap();
        let events = ["one", "two"]
            .iter()
            .map(|t| {
                cairn_core::NewEvent::now(cairn_core::Payload::Message(cairn_core::Message::text(
                    Role::User,
                    *t,
                )))
            })
            .collect();
        store.append_events(s.id, events).await.unwrap();
    });
    let cwd = home.project.to_string_lossy().into_owned();
    let (messages, stderr) = exchange(
        &home,
        &fake,
        "openai:gpt-4.1",
        &[
            request(1, "session/fork", json!({"sessionId": "main", "cwd": cwd})),
            request(
                2,
                "session/fork",
                json!({"sessionId": "main", "cwd": cwd, "_meta": {"cairn": {"name": "named-fork"}}}),
            ),
            request(3, "session/fork", json!({"sessionId": "nope", "cwd": cwd})),
        ],
    );
    let init = response(&messages, 0);
    assert!(
        init["result"]["agentCapabilities"]["sessionCapabilities"]["fork"].is_object(),
        "{init}"
    );
    assert_eq!(
        response(&messages, 1)["result"]["sessionId"],
        "main-fork-1",
        "{stderr}"
    );
    assert_eq!(response(&messages, 2)["result"]["sessionId"], "named-fork");
    assert!(error_message(&messages, 3).contains("nope"));
    runtime.block_on(async {
        let store =
            cairn_store_sqlite::open_store(&home.store_file(), Synchronous::Normal).unwrap();
        let parent = store.session(&main).await.unwrap();
        let fork = store
            .session(&SessionName::parse("main-fork-1").unwrap())
            .await
            .unwrap();
        assert_eq!((fork.parent_id, fork.fork_seq), (Some(parent.id), Some(2)));
        let live = store.live_context(fork.id, 10).await.unwrap();
        assert_eq!(live.events.len(), 2);
        // The fork's lease was let go when the client left.
        assert!(store.lease(fork.id).await.unwrap().is_none());
    });
}

/// An editor cannot be asked: that the project's `.mcp.json` servers are not approved
/// (so not used: the rule one-shot runs share, tested in run_mcp_client.rs) is said
/// once in the log however many sessions open.
#[test]
fn unapproved_project_mcp_servers_are_mentioned_once_in_the_log() {
    let home = TestHome::with_git();
    std::fs::write(
        home.project.join(".mcp.json"),
        r#"{"mcpServers": {"proj": {"command": "/nonexistent/proj-mcp"}}}"#,
    )
    .unwrap();
    let fake = FakeLlm::start([]).unwrap();
    let cwd = home.project.to_string_lossy().into_owned();
    let new = |id: u64, name: &str| {
        request(
            id,
            "session/new",
            json!({"cwd": cwd, "mcpServers": [], "_meta": {"cairn": {"name": name}}}),
        )
    };
    let (messages, stderr) = exchange(
        &home,
        &fake,
        "openai:gpt-4.1",
        &[new(1, "one"), new(2, "two")],
    );
    assert!(response(&messages, 1)["result"].is_object(), "{messages:?}");
    assert!(response(&messages, 2)["result"].is_object(), "{messages:?}");
    assert_eq!(
        stderr
            .matches("proposes MCP servers you have not approved")
            .count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("proj (/nonexistent/proj-mcp)"), "{stderr}");
}
