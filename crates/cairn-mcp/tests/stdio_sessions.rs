//! The handler in-process over byte streams (the stdio path without a child
//! process), on a real SQLite store in a temp dir: tool listing, instance
//! identity, the body limit, and concurrent connections on one store.

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

    async fn call(&mut self, tool: &str, arguments: Value) -> Value {
        let response = self
            .request(
                "tools/call",
                json!({ "name": tool, "arguments": arguments }),
            )
            .await;
        assert!(response.get("error").is_none(), "{tool}: {response}");
        response["result"]["structuredContent"].clone()
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
            rounds
        }));
    }
    let mut rounds = Vec::new();
    for task in tasks {
        rounds.extend(task.await.unwrap());
    }
    rounds.sort_unstable();
    assert_eq!(rounds, (1..=100).collect::<Vec<u32>>());
    assert_eq!(w.store.checkpoints("shared").await.unwrap().len(), 100);
    let mut peer = connect(&w.factory, "auditor", 4 << 20).await;
    let status = peer.call("pool_status", json!({})).await;
    assert_eq!(status["open_topics"].as_array().unwrap().len(), 100);
}
