//! `cairn serve`'s `/api`: the shapes of the CLI's `--json`, cursor paging, the
//! OpenAPI document, and the event stream seeing what another process stores.

use std::collections::HashSet;
use std::sync::Arc;

use cairn_core::{
    Message, NewCheckpoint, NewEvent, NewSession, Payload, Project, Role, SessionName, Store, Usage,
};
use cairn_store_sqlite::Synchronous;
use cairn_testkit::cli::Cairn;
use cairn_testkit::home::TestHome;
use cairn_testkit::serve::ServeDaemon;
use serde_json::Value;

const CAIRN: &str = env!("CARGO_BIN_EXE_cairn");

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn store(home: &TestHome) -> Arc<dyn Store> {
    cairn_store_sqlite::open_store(&home.store_file(), Synchronous::Normal).unwrap()
}

fn answer(text: &str, model: &str, request: &str, tokens: u64) -> Payload {
    let mut message = Message::text(Role::Assistant, text);
    message.usage = Some(Usage {
        input_tokens: tokens,
        output_tokens: 1,
        ..Usage::default()
    });
    message.cost_usd = Some(0.5);
    message.model = Some(model.to_owned());
    message.request_id = Some(request.to_owned());
    Payload::Message(message)
}

/// `n` sessions in the project, each with a question and an answer.
fn seed(home: &TestHome, n: usize) -> Vec<String> {
    let store = store(home);
    let project = Project::from_stored(home.project_key());
    runtime().block_on(async {
        let mut names = Vec::new();
        for i in 0..n {
            let name = format!("api-{i:02}");
            let s = store
                .create_session(NewSession::new(
                    SessionName::parse(&name).unwrap(),
                    project.clone(),
                ))
                .await
                .unwrap();
            store
                .append_events(
                    s.id,
                    vec![
                        NewEvent::now(Payload::Message(Message::text(
                            Role::User,
                            format!("question {i} about zebras"),
                        ))),
                        NewEvent::now(answer("an answer", "openai:gpt-4.1", &format!("r{i}"), 10)),
                    ],
                )
                .await
                .unwrap();
            names.push(name);
        }
        names
    })
}

#[test]
fn sessions_page_by_cursor_with_the_cli_shapes() {
    let home = TestHome::with_git();
    let names = seed(&home, 7);
    let daemon = ServeDaemon::start(CAIRN, &home, None, None, &[]);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/sessions?limit=3&cursor={c}"),
            None => "/api/sessions?limit=3".to_owned(),
        };
        let page = daemon.get_json(&path);
        pages += 1;
        for row in page["sessions"].as_array().unwrap() {
            seen.push(row["name"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), names.len(), "{seen:?}");
    assert_eq!(seen.len(), names.len(), "no row twice: {seen:?}");
    // Newest activity first, like the CLI; the rows are the CLI's rows.
    let c = Cairn::new(CAIRN, &home);
    let cli = c
        .run(["sessions", "list", "--all", "--json"])
        .success()
        .json();
    let first = daemon.get_json("/api/sessions?limit=50");
    assert_eq!(&first["sessions"], &cli);
    // A project filter, and one that matches nothing.
    let key = home.project_key();
    let mine = daemon.get_json(&format!("/api/sessions?project={}", url_escape(&key)));
    assert_eq!(mine["sessions"].as_array().unwrap().len(), 7);
    let none = daemon.get_json("/api/sessions?project=/nowhere");
    assert_eq!(none["sessions"], serde_json::json!([]));
    // Full-text filter.
    let hits = daemon.get_json("/api/sessions?q=zebras&limit=2");
    assert_eq!(hits["sessions"].as_array().unwrap().len(), 2);
    assert!(hits["next_cursor"].is_string(), "{hits}");
    // The detail is `sessions show --json`.
    let shown = c
        .run(["sessions", "show", "api-03", "--json"])
        .success()
        .json();
    assert_eq!(daemon.get_json("/api/sessions/api-03"), shown);
    // Bad input is named.
    let bad = daemon.get("/api/sessions?cursor=zzz", &[]);
    assert_eq!(bad.status, 400, "{bad:?}");
    assert!(bad.body.contains("cursor"), "{bad:?}");
    let bad = daemon.get("/api/sessions?limit=100000", &[]);
    assert_eq!(bad.status, 400, "{bad:?}");
    assert!(bad.body.contains("limit"), "{bad:?}");
    let missing = daemon.get("/api/sessions/nope", &[]);
    assert_eq!(missing.status, 404, "{missing:?}");
    assert!(missing.body.contains("nope"), "{missing:?}");
}

fn url_escape(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn events_page_after_a_seq() {
    let home = TestHome::with_git();
    seed(&home, 1);
    let store = store(&home);
    runtime().block_on(async {
        let s = store
            .session(&SessionName::parse("api-00").unwrap())
            .await
            .unwrap();
        let more = (0..8)
            .map(|i| NewEvent::now(Payload::Message(Message::text(Role::User, format!("m{i}")))))
            .collect();
        store.append_events(s.id, more).await.unwrap();
    });
    let daemon = ServeDaemon::start(CAIRN, &home, None, None, &[]);
    let mut after = 0;
    let mut seqs = Vec::new();
    loop {
        let page = daemon.get_json(&format!(
            "/api/sessions/api-00/events?after={after}&limit=4"
        ));
        for e in page["events"].as_array().unwrap() {
            seqs.push(e["seq"].as_u64().unwrap());
            assert!(e["kind"].is_string(), "{e}");
        }
        match page["next_after"].as_u64() {
            Some(next) => after = next,
            None => break,
        }
    }
    assert_eq!(seqs, (1..=10).collect::<Vec<_>>());
}

#[test]
fn the_openapi_document_describes_every_endpoint_and_resolves() {
    let home = TestHome::with_git();
    let daemon = ServeDaemon::start(CAIRN, &home, None, None, &[]);
    let doc = daemon.get_json("/api/openapi.json");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    assert!(doc["info"]["title"].is_string());
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/sessions", "get"),
        ("/api/sessions/{name}", "get"),
        ("/api/sessions/{name}/events", "get"),
        ("/api/sessions/{name}/stream", "get"),
        ("/api/sessions/{name}/messages", "post"),
        ("/api/search", "get"),
        ("/api/progress", "get"),
        ("/api/progress/{session_id}", "get"),
        ("/api/pool", "get"),
        ("/api/usage", "get"),
    ] {
        let op = &paths.get(path).unwrap_or_else(|| panic!("{path} missing"))[method];
        assert!(op["responses"]["200"].is_object(), "{path}: {op}");
        // Every path parameter is declared.
        for name in path
            .split('{')
            .skip(1)
            .map(|s| s.split('}').next().unwrap())
        {
            let declared = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["name"] == name && p["in"] == "path");
            assert!(declared, "{path}: parameter {name} undeclared");
        }
    }
    // Every $ref points into the document's components.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
    // The session row's schema names the CLI's fields.
    let row = &doc["components"]["schemas"]["SessionSummary"]["properties"];
    for field in [
        "name",
        "project",
        "status",
        "message_count",
        "tokens",
        "cost_usd",
        "updated_at",
    ] {
        assert!(row[field].is_object(), "SessionSummary.{field}: {row}");
    }
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    out.push(v.as_str().unwrap().to_owned());
                } else {
                    collect_refs(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[test]
fn the_event_stream_sees_what_another_process_stores() {
    let home = TestHome::with_git();
    seed(&home, 1);
    let daemon = ServeDaemon::start(CAIRN, &home, None, None, &[]);
    // From the start: the two stored events, then what arrives.
    let mut stream = daemon.stream("/api/sessions/api-00/stream?after=0");
    assert_eq!(stream.status, 200);
    let store = store(&home);
    let id = runtime().block_on(async {
        store
            .session(&SessionName::parse("api-00").unwrap())
            .await
            .unwrap()
            .id
    });
    let mut seqs = Vec::new();
    for _ in 0..2 {
        let e = stream.next_event().expect("a stored event");
        seqs.push(e.id.unwrap().parse::<u64>().unwrap());
    }
    // This test process is "another process": it writes the store directly.
    for batch in 0..5 {
        runtime().block_on(async {
            let events = (0..3)
                .map(|i| {
                    NewEvent::now(Payload::Message(Message::text(
                        Role::User,
                        format!("from elsewhere {batch}.{i}"),
                    )))
                })
                .collect();
            store.append_events(id, events).await.unwrap();
        });
    }
    let mut texts = Vec::new();
    while seqs.len() < 17 {
        let e = stream
            .next_event()
            .unwrap_or_else(|| panic!("the stream stopped after {seqs:?}"));
        seqs.push(e.id.unwrap().parse::<u64>().unwrap());
        let data: Value = serde_json::from_str(&e.data).unwrap();
        assert_eq!(data["seq"].as_u64(), seqs.last().copied());
        texts.push(data["content"][0]["text"].as_str().unwrap_or("").to_owned());
    }
    assert_eq!(seqs, (1..=17).collect::<Vec<_>>(), "dense, in order, once");
    assert_eq!(texts[0], "from elsewhere 0.0");
    assert_eq!(texts[14], "from elsewhere 4.2");
    // Resuming with Last-Event-ID continues after it.
    let mut resumed = cairn_testkit::serve::EventStream::open(
        daemon.addr,
        "/api/sessions/api-00/stream",
        &daemon.headers(&[("Last-Event-ID", "15")]),
    );
    let next = resumed.next_event().unwrap();
    assert_eq!(next.id.as_deref(), Some("16"));
}

#[test]
fn search_progress_pool_and_usage() {
    let home = TestHome::with_git();
    seed(&home, 3);
    let store = store(&home);
    runtime().block_on(async {
        let s = store
            .session(&SessionName::parse("api-01").unwrap())
            .await
            .unwrap();
        store
            .append_events(
                s.id,
                vec![NewEvent::now(answer(
                    "more",
                    "anthropic:claude-haiku-4-5",
                    "r-x",
                    100,
                ))],
            )
            .await
            .unwrap();
        for summary in ["first round", "second round"] {
            store
                .save_checkpoint(NewCheckpoint {
                    session_id: "auth-v2".into(),
                    project: Project::from_stored(home.project_key()),
                    summary: summary.into(),
                    files_touched: vec![],
                    decisions_made: vec![],
                    next_steps: vec![],
                    round_id: None,
                    client: None,
                    instance: None,
                })
                .await
                .unwrap();
        }
    });
    let daemon = ServeDaemon::start(CAIRN, &home, None, None, &[]);
    let found = daemon.get_json("/api/search?q=zebras");
    assert_eq!(found["hits"].as_array().unwrap().len(), 3, "{found}");
    let empty = daemon.get("/api/search?q=", &[]);
    assert_eq!(empty.status, 400);
    let progress = daemon.get_json("/api/progress");
    assert_eq!(progress["checkpoints"][0]["session_id"], "auth-v2");
    let series = daemon.get_json("/api/progress/auth-v2");
    assert_eq!(
        series["checkpoints"].as_array().unwrap().len(),
        2,
        "{series}"
    );
    let pool = daemon.get_json("/api/pool");
    assert!(pool["open_topics"].is_array(), "{pool}");
    let by_model = daemon.get_json("/api/usage?by=model");
    let rows = by_model["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{by_model}");
    assert_eq!(rows[0]["key"], "openai:gpt-4.1");
    assert_eq!(rows[0]["requests"], 3);
    assert_eq!(by_model["total"]["requests"], 4);
    assert_eq!(by_model["total"]["input_tokens"], 130);
    let by_day = daemon.get_json("/api/usage?by=day");
    assert_eq!(by_day["rows"].as_array().unwrap().len(), 1, "{by_day}");
    assert_eq!(by_day["total"]["cost_usd"], 2.0);
    let by_session = daemon.get_json("/api/usage?by=session");
    assert_eq!(
        by_session["rows"].as_array().unwrap().len(),
        3,
        "{by_session}"
    );
    let by_week = daemon.get_json("/api/usage?by=week");
    assert_eq!(by_week["total"]["requests"], 4, "{by_week}");
    let bad = daemon.get("/api/usage?by=month", &[]);
    assert_eq!(bad.status, 400);
    assert!(
        bad.body.contains("day, week, model, project, session"),
        "{bad:?}"
    );
    let bad = daemon.get("/api/usage?since=yesterday", &[]);
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("since"), "{bad:?}");
}

#[test]
fn mcp_is_served_at_mcp_and_its_writes_show_in_the_api() {
    use cairn_testkit::mcp_http::initialize_body;
    let home = TestHome::with_git();
    let daemon = ServeDaemon::start(CAIRN, &home, None, Some("mcp-tok"), &[]);
    let accept = ("Accept", "application/json, text/event-stream");
    let reply = daemon.post("/mcp", &initialize_body("agent"), &[accept]);
    assert_eq!(reply.status, 200, "{reply:?}");
    let session = reply
        .header("mcp-session-id")
        .expect("a session id")
        .to_owned();
    let session_header = ("Mcp-Session-Id", session.as_str());
    let ready = daemon.post(
        "/mcp",
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        &[accept, session_header],
    );
    assert!(ready.status == 200 || ready.status == 202, "{ready:?}");
    let call = serde_json::json!({
        "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": { "name": "pool_signal", "arguments": {
            "action": "claimed", "topic": "auth-refresh", "summary": "taking it"
        }}
    })
    .to_string();
    let reply = daemon.post("/mcp", &call, &[accept, session_header]);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["result"]["isError"], false, "{reply:?}");
    let pool = daemon.get_json("/api/pool");
    let topics: Vec<&str> = pool["open_topics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["topic"].as_str())
        .collect();
    assert_eq!(topics, ["auth-refresh"], "{pool}");
}
