//! Usage reports over a real store: grouped by day, week, model, project and
//! session, a request counted once however many lines carry it, a period cut by time.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use cairn_app::usage::{self, UsageBy, UsageQuery, UsageReport};
use cairn_app::{ImportRequest, JsonlV1, import_session};
use cairn_core::{Store, Timestamp};
use cairn_store_conformance::support::project;

fn store(dir: &Path) -> Arc<dyn Store> {
    cairn_store_sqlite::open_store(
        &dir.join("cairn.db"),
        cairn_store_sqlite::Synchronous::Normal,
    )
    .unwrap()
}

fn answer(seq: u64, ts: &str, model: &str, request: &str, input: u64, cost: f64) -> String {
    format!(
        r#"{{"seq":{seq},"ts":"{ts}","kind":"message","role":"assistant","content":[{{"type":"text","text":"a"}}],"model":"{model}","usage":{{"input_tokens":{input},"output_tokens":10}},"cost_usd":{cost},"request_id":"{request}"}}"#
    )
}

async fn import(store: &dyn Store, dir: &Path, name: &str, at: &str, lines: &[String]) {
    let path = dir.join(format!("{name}.jsonl"));
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(
        f,
        r#"{{"format":"cairn.session","version":1,"name":"{name}","project":"/x","model":"openai:gpt-4.1","created_at":"{at}"}}"#
    )
    .unwrap();
    for line in lines {
        writeln!(f, "{line}").unwrap();
    }
    drop(f);
    import_session(
        store,
        Box::new(JsonlV1::open(&path).unwrap()),
        ImportRequest {
            name: None,
            project: project(&format!("/tmp/{name}-project")),
            knowledge_retention: 2,
        },
    )
    .await
    .unwrap();
}

async fn seeded(dir: &Path) -> Arc<dyn Store> {
    let store = store(dir);
    // "alpha": two days of one ISO week and a Monday of the next; its second answer
    // was split over two lines sharing a request id (counted once).
    import(
        store.as_ref(),
        dir,
        "alpha",
        "2026-11-26T09:00:00Z",
        &[
            answer(1, "2026-11-26T09:00:00Z", "openai:gpt-4.1", "r1", 100, 1.0),
            answer(
                2,
                "2026-11-27T09:00:00Z",
                "openai:gpt-4.1-mini",
                "r2",
                50,
                0.25,
            ),
            answer(
                3,
                "2026-11-27T09:00:01Z",
                "openai:gpt-4.1-mini",
                "r2",
                50,
                0.25,
            ),
            answer(4, "2026-11-30T09:00:00Z", "openai:gpt-4.1", "r3", 10, 0.5),
        ],
    )
    .await;
    import(
        store.as_ref(),
        dir,
        "beta",
        "2026-11-27T10:00:00Z",
        &[answer(
            1,
            "2026-11-27T10:00:00Z",
            "anthropic:claude-sonnet-4-5",
            "b1",
            1000,
            3.0,
        )],
    )
    .await;
    store
}

async fn report(store: &dyn Store, by: UsageBy, since: Option<&str>) -> UsageReport {
    let query = UsageQuery {
        by,
        project: None,
        since: since.map(|s| s.parse::<Timestamp>().unwrap()),
    };
    usage::report(store, &query).await.unwrap()
}

fn keys(report: &UsageReport) -> Vec<(&str, u64, f64)> {
    report
        .rows
        .iter()
        .map(|r| (r.key.as_str(), r.requests, r.cost_usd))
        .collect()
}

#[tokio::test]
async fn by_day_and_week_in_time_order_with_split_answers_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(dir.path()).await;
    let days = report(store.as_ref(), UsageBy::Day, None).await;
    assert_eq!(
        keys(&days),
        [
            ("2026-11-26", 1, 1.0),
            ("2026-11-27", 2, 3.25),
            ("2026-11-30", 1, 0.5)
        ]
    );
    assert_eq!(days.total.requests, 4);
    assert_eq!(days.total.input_tokens, 100 + 50 + 10 + 1000);
    assert_eq!(days.total.total_tokens, 1160 + 40);
    assert!((days.total.cost_usd - 4.75).abs() < 1e-9);

    let weeks = report(store.as_ref(), UsageBy::Week, None).await;
    assert_eq!(keys(&weeks), [("2026-W48", 3, 4.25), ("2026-W49", 1, 0.5)]);
}

#[tokio::test]
async fn by_model_project_and_session_most_expensive_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(dir.path()).await;
    let models = report(store.as_ref(), UsageBy::Model, None).await;
    assert_eq!(
        keys(&models),
        [
            ("anthropic:claude-sonnet-4-5", 1, 3.0),
            ("openai:gpt-4.1", 2, 1.5),
            ("openai:gpt-4.1-mini", 1, 0.25)
        ]
    );
    // From the index: running totals, no request counts.
    let sessions = report(store.as_ref(), UsageBy::Session, None).await;
    assert_eq!(keys(&sessions), [("beta", 0, 3.0), ("alpha", 0, 1.75)]);
    let projects = report(store.as_ref(), UsageBy::Project, None).await;
    assert_eq!(projects.rows.len(), 2);
    assert_eq!(projects.rows[0].key, "/tmp/beta-project");
    assert!((projects.total.cost_usd - 4.75).abs() < 1e-9);
}

#[tokio::test]
async fn a_period_keeps_only_answers_inside_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(dir.path()).await;
    let recent = report(
        store.as_ref(),
        UsageBy::Session,
        Some("2026-11-27T09:30:00Z"),
    )
    .await;
    // alpha's answer of the 30th, beta's of the 27th at 10:00; nothing older.
    assert_eq!(keys(&recent), [("beta", 1, 3.0), ("alpha", 1, 0.5)]);
    assert_eq!(recent.since.as_deref(), Some("2026-11-27T09:30:00Z"));
    let none = report(store.as_ref(), UsageBy::Day, Some("2026-12-01T00:00:00Z")).await;
    assert!(none.rows.is_empty());
    assert_eq!(none.total.requests, 0);
}
