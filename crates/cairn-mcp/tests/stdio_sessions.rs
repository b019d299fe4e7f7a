//! The handler in-process over byte streams (the stdio path without a child
//! process), on a real SQLite store in a temp dir: tool listing and schemas,
//! argument reading and refusals, instance identity, the body limit,
//! where-was-I answers, and concurrent connections on one store.

use std::sync::Arc;

use cairn_core::{Project, Store};
use cairn_mcp::{CairnMcpFactory, McpConfig, serve_on};
use cairn_store_sqlite::Synchronous;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, ReadHalf, WriteHalf};

struct Peer {
    write: WriteHalf<DuplexStream>,
    read: BufReader<ReadHalf<DuplexStream>>,
    next_id: u64,
}

impl Peer {
    async fn send_line(&mut self, line: &[u8]) {
        self.write.write_all(line).await.unwrap();
        self.write.write_all(b"\n").await.unwrap();
        self.write.flush().await.unwrap();
    }

    async fn response(&mut self, id: u64) -> Value {
        loop {
            let mut line = String::new();
            let n = self.read.read_line(&mut line).await.unwrap();
            assert!(n > 0, "server closed the stream before answering {id}");
            let message: Value = serde_json::from_str(&line).expect("stdout carries JSON only");
            if message["id"] == json!(id) {
                return message;
            }
        }
    }

    async fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let body = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        self.send_line(body.to_string().as_bytes()).await;
        self.response(id).await
    }

    /// A `tools/call` that must get a result (not a JSON-RPC error).
    async fn tool_result(&mut self, tool: &str, arguments: Value) -> Value {
        let response = self
            .request(
                "tools/call",
                json!({ "name": tool, "arguments": arguments }),
            )
            .await;
        assert!(response.get("error").is_none(), "{tool}: {response}");
        response
    }

    async fn call(&mut self, tool: &str, arguments: Value) -> Value {
        let response = self.tool_result(tool, arguments).await;
        assert_ne!(response["result"]["isError"], true, "{tool}: {response}");
        response["result"]["structuredContent"].clone()
    }

    /// A call whose arguments must be refused: the text of its isError result.
    async fn refused(&mut self, tool: &str, arguments: Value) -> String {
        let response = self.tool_result(tool, arguments).await;
        assert_eq!(response["result"]["isError"], true, "{tool}: {response}");
        response["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

struct World {
    _dir: tempfile::TempDir,
    factory: CairnMcpFactory,
    store: Arc<dyn Store>,
}

fn world(instance: Option<&str>) -> World {
    let dir = tempfile::tempdir().unwrap();
    let project_dir = dir.path().join("project");
    std::fs::create_dir_all(&project_dir).unwrap();
    let store =
        cairn_store_sqlite::open_store(&dir.path().join("cairn.db"), Synchronous::Normal).unwrap();
    let factory = CairnMcpFactory::new(McpConfig {
        store: Arc::clone(&store),
        project: Project::detect(&project_dir).unwrap(),
        pool_ttl_secs: 7200,
        instance: instance.map(str::to_owned),
    });
    World {
        _dir: dir,
        factory,
        store,
    }
}

/// A connection served on an in-memory pipe, initialized as `client`.
async fn connect(factory: &CairnMcpFactory, client: &str, max_body: usize) -> Peer {
    let (client_side, server_side) = tokio::io::duplex(1 << 20);
    let (server_read, server_write) = tokio::io::split(server_side);
    let factory = factory.clone();
    tokio::spawn(async move {
        let _ = serve_on(&factory, server_read, server_write, max_body).await;
    });
    let (read, write) = tokio::io::split(client_side);
    let mut peer = Peer {
        write,
        read: BufReader::new(read),
        next_id: 0,
    };
    let init = peer
        .request(
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": { "name": client, "version": "1" }
            }),
        )
        .await;
    assert_eq!(init["result"]["serverInfo"]["name"], "cairn", "{init}");
    peer.send_line(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        .await;
    peer
}

#[tokio::test]
async fn every_tool_declares_object_schemas_in_and_out() {
    let w = world(None);
    let mut peer = connect(&w.factory, "lister", 4 << 20).await;
    let tools = peer.request("tools/list", json!({})).await;
    let tools = tools["result"]["tools"].as_array().unwrap().clone();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    for wanted in [
        "save_progress",
        "where_was_i",
        "get_progress",
        "pool_signal",
        "pool_status",
        "list_sessions",
        "search_sessions",
        "fork_session",
        "recall",
    ] {
        assert!(names.contains(&wanted), "{wanted} missing from {names:?}");
    }
    for tool in &tools {
        assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
        assert_eq!(tool["outputSchema"]["type"], "object", "{tool}");
        assert!(
            tool["description"].as_str().is_some_and(|d| d.len() > 20),
            "{tool}"
        );
    }
    let save = tools.iter().find(|t| t["name"] == "save_progress").unwrap();
    assert_eq!(
        save["inputSchema"]["required"],
        json!(["session_id", "summary"])
    );
    let files = &save["inputSchema"]["properties"]["files_touched"];
    assert!(
        files.to_string().contains("array") && files.to_string().contains("string"),
        "{files}"
    );
}

#[tokio::test]
async fn instances_are_client_name_and_connection_unless_fixed() {
    let w = world(None);
    let mut one = connect(&w.factory, "claude-code", 4 << 20).await;
    let mut two = connect(&w.factory, "claude-code", 4 << 20).await;
    let a = one
        .call(
            "pool_signal",
            json!({ "action": "claimed", "topic": "a", "summary": "s" }),
        )
        .await;
    let b = two
        .call(
            "pool_signal",
            json!({ "action": "claimed", "topic": "b", "summary": "s" }),
        )
        .await;
    let (a, b) = (
        a["instance"].as_str().unwrap(),
        b["instance"].as_str().unwrap(),
    );
    assert!(
        a.starts_with("claude-code#") && b.starts_with("claude-code#"),
        "{a} {b}"
    );
    assert_ne!(a, b, "two connections of one client are two instances");

    let fixed = world(Some("ci-runner-7"));
    let mut peer = connect(&fixed.factory, "codex", 4 << 20).await;
    let signal = peer
        .call(
            "pool_signal",
            json!({ "action": "started", "topic": "t", "summary": "s" }),
        )
        .await;
    assert_eq!(signal["instance"], "ci-runner-7");
    let saved = peer
        .call(
            "save_progress",
            json!({ "session_id": "w", "summary": "s" }),
        )
        .await;
    let stored = fixed.store.latest_checkpoint("w").await.unwrap().unwrap();
    assert_eq!(
        stored.checkpoint_id,
        saved["checkpoint_id"].as_str().unwrap()
    );
    assert_eq!(stored.client.as_deref(), Some("codex"));
    assert_eq!(stored.instance.as_deref(), Some("ci-runner-7"));
}

#[tokio::test]
async fn a_message_over_the_limit_is_answered_and_the_connection_lives_on() {
    let w = world(None);
    let mut peer = connect(&w.factory, "big", 2_000).await;
    let body = json!({
        "jsonrpc": "2.0", "id": 77, "method": "tools/call",
        "params": { "name": "save_progress",
                    "arguments": { "session_id": "big", "summary": "x".repeat(5_000) } }
    });
    peer.send_line(body.to_string().as_bytes()).await;
    let answer = peer.response(77).await;
    assert_eq!(answer["error"]["code"], -32600, "{answer}");
    assert_eq!(answer["error"]["data"]["limit"], 2_000, "{answer}");
    assert!(w.store.latest_checkpoint("big").await.unwrap().is_none());
    peer.next_id = 100;
    let ok = peer
        .call(
            "save_progress",
            json!({ "session_id": "big", "summary": "small" }),
        )
        .await;
    assert_eq!(ok["status"], "saved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_connections_lose_no_checkpoint_or_round() {
    let w = world(None);
    let mut tasks = Vec::new();
    for c in 0..4 {
        let factory = w.factory.clone();
        tasks.push(tokio::spawn(async move {
            let mut peer = connect(&factory, &format!("agent{c}"), 4 << 20).await;
            let mut rounds = Vec::new();
            for i in 0..25 {
                let saved = peer
                    .call(
                        "save_progress",
                        json!({ "session_id": "shared", "summary": format!("{c}/{i}") }),
                    )
                    .await;
                rounds.push(saved["round_id"].as_str().unwrap().parse::<u32>().unwrap());
                peer.call(
                    "pool_signal",
                    json!({ "action": "claimed", "topic": format!("t{c}-{i}"), "summary": "s" }),
                )
                .await;
            }
            // Kept open: a closed connection releases its topics.
            (rounds, peer)
        }));
    }
    let mut rounds = Vec::new();
    let mut peers = Vec::new();
    for task in tasks {
        let (mine, peer) = task.await.unwrap();
        rounds.extend(mine);
        peers.push(peer);
    }
    rounds.sort_unstable();
    assert_eq!(rounds, (1..=100).collect::<Vec<u32>>());
    assert_eq!(w.store.checkpoints("shared").await.unwrap().len(), 100);
    let mut peer = connect(&w.factory, "auditor", 4 << 20).await;
    let status = peer.call("pool_status", json!({})).await;
    assert_eq!(status["open_topics"].as_array().unwrap().len(), 100);
}

/// Every `format` in a schema, with the path to it.
fn formats(value: &Value, path: String, found: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(format)) = map.get("format") {
                found.push((path.clone(), format.clone()));
            }
            for (key, child) in map {
                formats(child, format!("{path}/{key}"), found);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                formats(child, format!("{path}/{i}"), found);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn no_schema_carries_an_integer_width_format() {
    let w = world(None);
    let mut peer = connect(&w.factory, "typescript", 4 << 20).await;
    let tools = peer.request("tools/list", json!({})).await;
    let mut found = Vec::new();
    formats(&tools["result"]["tools"], "tools".into(), &mut found);
    let widths: Vec<_> = found
        .iter()
        .filter(|(_, f)| f.starts_with("uint") || f.starts_with("int"))
        .collect();
    assert!(widths.is_empty(), "integer width formats: {widths:?}");
    let where_out = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "where_was_i")
        .unwrap();
    let count = &where_out["outputSchema"].to_string();
    assert!(
        count.contains(r#""minimum":0"#),
        "unsigned integers say minimum 0: {count}"
    );
}

#[tokio::test]
async fn a_list_sent_as_a_json_array_string_is_that_array() {
    let w = world(None);
    let mut peer = connect(&w.factory, "inspector", 4 << 20).await;
    peer.call(
        "save_progress",
        json!({
            "session_id": "lists",
            "summary": "s",
            "files_touched": r#"["a.rs","b, c.rs"]"#,
            "decisions_made": ["keep arrays"],
            "next_steps": "one, two\nthree",
        }),
    )
    .await;
    let saved = w.store.latest_checkpoint("lists").await.unwrap().unwrap();
    assert_eq!(saved.files_touched, vec!["a.rs", "b, c.rs"]);
    assert_eq!(saved.decisions_made, vec!["keep arrays"]);
    assert_eq!(saved.next_steps, vec!["one", "two", "three"]);
}

#[tokio::test]
async fn limit_schema_and_checks_agree_and_round_ids_are_integers() {
    let w = world(None);
    let mut peer = connect(&w.factory, "strict", 4 << 20).await;
    let tools = peer.request("tools/list", json!({})).await;
    for name in ["list_sessions", "search_sessions"] {
        let tool = tools["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap();
        let limit = &tool["inputSchema"]["properties"]["limit"];
        assert!(
            limit["type"].to_string().contains("integer"),
            "{name}: {limit}"
        );
        let max = limit["maximum"].as_u64().expect("limit has a maximum");
        let min = limit["minimum"].as_u64().expect("limit has a minimum");
        let mut args = json!({ "query": "x" });
        args["limit"] = json!(max);
        peer.call(name, args.clone()).await;
        args["limit"] = json!(min);
        peer.call(name, args.clone()).await;
        args["limit"] = json!(max + 1);
        let text = peer.refused(name, args.clone()).await;
        assert!(
            text.contains("`limit`") && text.contains(&max.to_string()),
            "{text}"
        );
        args["limit"] = json!(min - 1);
        peer.refused(name, args).await;
    }
    let text = peer
        .refused(
            "save_progress",
            json!({ "session_id": "r", "summary": "s", "round_id": 1.5 }),
        )
        .await;
    assert!(
        text.contains("`round_id` must be a string or an integer"),
        "{text}"
    );
    let text = peer
        .refused(
            "get_progress",
            json!({ "session_id": "r", "round_id": 2.5 }),
        )
        .await;
    assert!(text.contains("round_id"), "{text}");
    assert!(w.store.latest_checkpoint("r").await.unwrap().is_none());
    let saved = peer
        .call(
            "save_progress",
            json!({ "session_id": "r", "summary": "s", "round_id": 7 }),
        )
        .await;
    assert_eq!(saved["round_id"], "7");
}

#[tokio::test]
async fn argument_refusals_are_error_results_and_protocol_errors_stay_errors() {
    let w = world(None);
    let mut peer = connect(&w.factory, "model", 4 << 20).await;
    let text = peer
        .refused("save_progress", json!({ "summary": "no id" }))
        .await;
    assert!(
        text.contains("missing required field `session_id`"),
        "{text}"
    );
    let text = peer
        .refused(
            "save_progress",
            json!({ "session_id": "big", "summary": "s".repeat(65 * 1024) }),
        )
        .await;
    assert!(
        text.contains("summary") && text.contains("64 KiB"),
        "{text}"
    );
    let text = peer
        .refused(
            "pool_signal",
            json!({ "action": "done", "topic": "t", "summary": "s" }),
        )
        .await;
    assert!(
        text.contains("action") && text.contains("claimed"),
        "{text}"
    );
    assert!(w.store.latest_checkpoint("big").await.unwrap().is_none());
    let unknown = peer
        .request(
            "tools/call",
            json!({ "name": "drop_database", "arguments": {} }),
        )
        .await;
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    assert!(
        unknown["error"]["message"]
            .as_str()
            .unwrap()
            .contains("save_progress"),
        "{unknown}"
    );
}

#[tokio::test]
async fn where_was_i_for_a_client_that_saved_nothing_points_at_others() {
    let w = world(None);
    let mut peer = connect(&w.factory, "claude-code", 4 << 20).await;
    let nothing = peer.call("where_was_i", json!({ "client": "codex" })).await;
    assert_eq!(nothing["found"], false);
    let message = nothing["message"].as_str().unwrap();
    assert!(
        message.contains("`codex` has saved nothing") && message.contains("No other client"),
        "{message}"
    );
    peer.call(
        "save_progress",
        json!({ "session_id": "auth-v2", "summary": "s" }),
    )
    .await;
    let nothing = peer.call("where_was_i", json!({ "client": "codex" })).await;
    assert_eq!(nothing["found"], false);
    let message = nothing["message"].as_str().unwrap();
    assert!(
        message.contains("`codex` has saved nothing")
            && message.contains("`auth-v2`")
            && message.contains("claude-code")
            && !message.contains("nothing has been saved yet"),
        "{message}"
    );
    let found = peer
        .call("where_was_i", json!({ "client": "claude-code" }))
        .await;
    assert_eq!(found["session_id"], "auth-v2");
}

#[tokio::test]
async fn the_resume_prompt_mentions_next_steps_only_when_there_are_some() {
    let w = world(None);
    let mut peer = connect(&w.factory, "editor", 4 << 20).await;
    peer.call(
        "save_progress",
        json!({ "session_id": "bare", "summary": "halfway through" }),
    )
    .await;
    let prompt = peer
        .request(
            "prompts/get",
            json!({ "name": "resume", "arguments": { "session_id": "bare" } }),
        )
        .await;
    let text = prompt["result"]["messages"][0]["content"]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.contains("halfway through"), "{text}");
    assert!(
        !text.contains("next step above") && text.contains("No next steps were recorded"),
        "{text}"
    );
    assert!(!text.contains("decisions already made"), "{text}");
    peer.call(
        "save_progress",
        json!({ "session_id": "full", "summary": "s", "next_steps": ["ship it"], "decisions_made": ["use vault"] }),
    )
    .await;
    let prompt = peer
        .request(
            "prompts/get",
            json!({ "name": "resume", "arguments": { "session_id": "full" } }),
        )
        .await;
    let text = prompt["result"]["messages"][0]["content"]["text"]
        .as_str()
        .unwrap();
    assert!(
        text.contains("Start with the next step above")
            && text.contains("do not re-debate the decisions already made"),
        "{text}"
    );
}

#[tokio::test]
async fn fork_session_forks_without_copying_and_refuses_bad_arguments() {
    use cairn_core::{Message, NewEvent, NewSession, Payload, Project, Role, SessionName};
    let w = world(None);
    let parent = w
        .store
        .create_session(NewSession::new(
            SessionName::parse("main").unwrap(),
            Project::from_stored("/p/one"),
        ))
        .await
        .unwrap();
    let events = ["one", "two", "three"]
        .iter()
        .map(|t| NewEvent::now(Payload::Message(Message::text(Role::User, *t))))
        .collect();
    w.store.append_events(parent.id, events).await.unwrap();
    let mut peer = connect(&w.factory, "forker", 4 << 20).await;
    let forked = peer
        .call(
            "fork_session",
            json!({ "session": "main", "new_name": "side", "at_seq": 2 }),
        )
        .await;
    assert_eq!(forked["name"], "side");
    assert_eq!(forked["parent"], "main");
    assert_eq!(forked["fork_seq"], 2);
    let side = w
        .store
        .session(&SessionName::parse("side").unwrap())
        .await
        .unwrap();
    let live = w.store.live_context(side.id, 10).await.unwrap();
    assert_eq!(live.events.len(), 2);
    assert_eq!(side.message_count, 0);

    let text = peer
        .refused(
            "fork_session",
            json!({ "session": "main", "new_name": "../x" }),
        )
        .await;
    assert!(text.contains("`new_name`"), "{text}");
    for (arguments, wanted) in [
        (
            json!({ "session": "main", "new_name": "side" }),
            "already exists",
        ),
        (
            json!({ "session": "main", "new_name": "late", "at_seq": 9 }),
            "fork point 9",
        ),
        (json!({ "session": "nope", "new_name": "other" }), "nope"),
    ] {
        let response = peer
            .request(
                "tools/call",
                json!({ "name": "fork_session", "arguments": arguments.clone() }),
            )
            .await;
        let shown = response.to_string();
        assert!(
            response["result"]["isError"] == true || response.get("error").is_some(),
            "{arguments}: {shown}"
        );
        assert!(shown.contains(wanted), "{arguments}: {shown}");
    }
}

#[tokio::test]
async fn recall_searches_a_whole_history_reads_one_event_and_refuses_bad_arguments() {
    use cairn_core::SessionName;
    use cairn_core::{Compaction, Message, NewEvent, NewSession, Payload, Project, Role};
    let w = world(None);
    let session = w
        .store
        .create_session(NewSession::new(
            SessionName::parse("main").unwrap(),
            Project::from_stored("/p/one"),
        ))
        .await
        .unwrap();
    let long = format!("the bastion is zebra-7 {}", "padding ".repeat(3000));
    let mut compaction = Compaction::new([1, 2], "deploy discussed".to_owned());
    compaction.tokens_before = 100;
    compaction.tokens_after = 10;
    let events = vec![
        NewEvent::now(Payload::Message(Message::text(Role::User, &long))),
        NewEvent::now(Payload::Message(Message::text(Role::Assistant, "noted"))),
        NewEvent::now(Payload::Compaction(compaction)),
    ];
    w.store.append_events(session.id, events).await.unwrap();
    let mut peer = connect(&w.factory, "recaller", 4 << 20).await;

    // The search reaches the replaced event; the excerpt is cut around the match.
    let found = peer
        .call("recall", json!({ "session": "main", "query": "zebra-7" }))
        .await;
    let hit = &found["search"]["hits"][0];
    assert_eq!(hit["seq"], 1, "{found}");
    assert_eq!(hit["session"], "main");
    assert_eq!(hit["cut"], true);
    assert!(
        hit["excerpt"]
            .as_str()
            .unwrap()
            .contains("the bastion is zebra-7")
    );

    // One event whole, in parts.
    let first = peer
        .call("recall", json!({ "session": "main", "seq": 1 }))
        .await;
    let next = first["event"]["next_offset"]
        .as_u64()
        .expect("a long event is cut");
    assert_eq!(first["event"]["total_bytes"], long.len());
    let rest = peer
        .call(
            "recall",
            json!({ "session": "main", "seq": "1", "offset": next }),
        )
        .await;
    let joined = format!(
        "{}{}",
        first["event"]["text"].as_str().unwrap(),
        rest["event"]["text"].as_str().unwrap()
    );
    assert_eq!(joined, long);
    assert!(rest["event"]["next_offset"].is_null());

    // Scope "project": the other sessions of the project too; not by default.
    let other = w
        .store
        .create_session(NewSession::new(
            SessionName::parse("other").unwrap(),
            Project::from_stored("/p/one"),
        ))
        .await
        .unwrap();
    w.store
        .append_events(
            other.id,
            vec![NewEvent::now(Payload::Message(Message::text(
                Role::User,
                "zebra-7 was rebooted",
            )))],
        )
        .await
        .unwrap();
    let own = peer
        .call("recall", json!({ "session": "main", "query": "zebra-7" }))
        .await;
    assert_eq!(own["search"]["hits"].as_array().unwrap().len(), 1, "{own}");
    let project = peer
        .call(
            "recall",
            json!({ "session": "main", "query": "zebra-7", "scope": "project" }),
        )
        .await;
    let sessions: Vec<&str> = project["search"]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["session"].as_str().unwrap())
        .collect();
    assert_eq!(sessions, ["other", "main"], "{project}");

    for (arguments, wanted) in [
        (
            json!({ "session": "main", "query": "x", "seq": 1 }),
            "not both",
        ),
        (json!({ "session": "main" }), "`query`"),
        (
            json!({ "session": "main", "query": "x", "scope": "galaxy" }),
            "`scope`",
        ),
        (json!({ "session": "main", "seq": 99 }), "seq 99"),
        (
            json!({ "session": "main", "seq": 1, "offset": 999999 }),
            "past the end",
        ),
        (json!({ "session": "../etc", "query": "x" }), "`session`"),
        (json!({ "session": "nope", "query": "x" }), "nope"),
    ] {
        let response = peer
            .request(
                "tools/call",
                json!({ "name": "recall", "arguments": arguments.clone() }),
            )
            .await;
        let shown = response.to_string();
        assert!(
            response["result"]["isError"] == true || response.get("error").is_some(),
            "{arguments}: {shown}"
        );
        assert!(shown.contains(wanted), "{arguments}: {shown}");
    }
}

/// Issue 14: `search_sessions` goes through the checkpoints' full-text index, so
/// a checkpoint is found however many session ids were saved after it (the old
/// substring scan read only the latest 200), by its decisions and next steps too,
/// newest first among chat hits by time.
#[tokio::test]
async fn search_finds_any_checkpoint_through_the_index() {
    let w = world(None);
    let save = |id: String, decision: &str| cairn_core::NewCheckpoint {
        session_id: id,
        project: Project::from_stored("/work/app"),
        summary: "routine work".into(),
        files_touched: vec![],
        decisions_made: vec![decision.into()],
        next_steps: vec!["ship the wombat importer".into()],
        round_id: None,
        client: None,
        instance: None,
    };
    w.store
        .save_checkpoint(save("oldest".into(), "pick the quokka schema"))
        .await
        .unwrap();
    for i in 0..201 {
        w.store
            .save_checkpoint(save(format!("later-{i}"), "nothing special"))
            .await
            .unwrap();
    }
    let mut peer = connect(&w.factory, "claude-code", 4 << 20).await;
    let found = peer
        .call("search_sessions", json!({ "query": "quokka" }))
        .await;
    let hits = found["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 1, "{found}");
    assert_eq!(hits[0]["kind"], "checkpoint");
    assert_eq!(hits[0]["id"], "oldest");
    assert!(
        hits[0]["snippet"].as_str().unwrap().contains("[quokka]"),
        "{found}"
    );
    let found = peer
        .call("search_sessions", json!({ "query": "wombat", "limit": 5 }))
        .await;
    let ids: Vec<&str> = found["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "later-200",
            "later-199",
            "later-198",
            "later-197",
            "later-196"
        ]
    );
}
