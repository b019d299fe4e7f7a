//! Search newest first by `events.at_us` (migration 10): the client's value of an
//! event's time is the one the server's cast gives (the migration's), so old and
//! new rows sort together as `ts::timestamptz` sorted them, and a word in many
//! events walks `events_by_time` instead of sorting every match.

use cairn_core::event::Message;
use cairn_core::{Event, NewSession, Payload, Project, Role, SessionName, Store, Timestamp};
use cairn_testkit::postgres::{TestDatabase, cluster, fresh_database};
use tokio_postgres::{Client, NoTls};

use crate::PostgresStore;
use crate::migrations::LATEST_VERSION;
use crate::rows::at_us;

/// Times whose fraction the server rounds (ties, a carry into the next second,
/// before the epoch) and offsets; [`unreadable_times`] adds years it cannot read.
const TIMES: &[&str] = &[
    "2026-03-01T10:00:00Z",
    "2026-03-01T10:00:00.0000005Z",
    "2026-03-01T10:00:00.0000015Z",
    "2026-03-01T10:00:00.0000025Z",
    "2026-03-01T10:00:00.1234565Z",
    "2026-03-01T10:00:00.123456789Z",
    "2026-03-01T10:00:00.9999995Z",
    "2026-03-01T10:00:00.999999999Z",
    "2026-03-01T12:30:00.5000005+02:00",
    "1969-12-31T23:59:59.9999995Z",
    "1969-12-31T23:59:59.0000005Z",
    "0001-01-01T00:00:00.0000005Z",
    "9999-12-30T21:59:59.9999995Z",
];

/// The last second of the year 0, and the first time cairn can hold (year -9999).
fn unreadable_times() -> [Timestamp; 2] {
    [
        Timestamp::from_second(-62_135_596_801).unwrap(),
        Timestamp::MIN,
    ]
}

async fn client(database: &TestDatabase) -> Client {
    let (client, connection) = tokio_postgres::connect(&database.url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

fn message(seq: u64, ts: Timestamp, text: &str) -> Event {
    Event {
        seq,
        ts,
        payload: Payload::Message(Message::text(Role::User, text)),
    }
}

fn session(name: &str) -> NewSession {
    NewSession::new(
        SessionName::parse(name).unwrap(),
        Project::from_stored("/p/one"),
    )
}

/// Each event's `(ts, at_us)`, in insertion order.
async fn keys(client: &Client) -> Vec<(String, i64)> {
    let rows = client
        .query("SELECT ts, at_us FROM events ORDER BY id", &[])
        .await
        .unwrap();
    rows.iter().map(|row| (row.get(0), row.get(1))).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_old_store_gets_the_event_times_the_client_writes() {
    let database = fresh_database();
    let store = PostgresStore::open(&database.url).unwrap();
    let mut times: Vec<Timestamp> = TIMES.iter().map(|t| t.parse().unwrap()).collect();
    times.extend(unreadable_times());
    let events = times
        .iter()
        .zip(1..)
        .map(|(ts, seq)| message(seq, *ts, "heron"))
        .collect();
    store
        .import_session(session("times"), events)
        .await
        .unwrap();
    let newest_first = |hits: Vec<cairn_core::store::SearchHit>| {
        hits.iter().map(|hit| hit.seq).collect::<Vec<_>>()
    };
    let scope = cairn_core::store::SearchScope {
        project: None,
        limit: 0,
    };
    let found = newest_first(store.search("heron", &scope).await.unwrap());
    let client = client(&database).await;
    let written = keys(&client).await;
    assert_eq!(written.len(), times.len());
    // Rounded, not cut; the years the server cannot read are the oldest.
    assert_eq!(at_us(times[5]) - at_us(times[0]), 123_457);
    assert_eq!(at_us(times[7]) - at_us(times[0]), 1_000_000);
    assert_eq!(written[TIMES.len()].1, i64::MIN);
    assert_eq!(written[TIMES.len() + 1].1, i64::MIN);

    // The store as migration 9 left it, then migrated again.
    client
        .batch_execute(
            "DROP INDEX events_by_time; ALTER TABLE events DROP COLUMN at_us; \
             UPDATE cairn_schema SET version = 9",
        )
        .await
        .unwrap();
    // A search as the first use: its statement travels with the schema check
    // (and fails on the old schema); it runs again once the store is migrated.
    let migrated = PostgresStore::open(&database.url).unwrap();
    assert_eq!(
        newest_first(migrated.search("heron", &scope).await.unwrap()),
        found
    );
    assert_eq!(migrated.schema_version().await.unwrap(), LATEST_VERSION);
    assert_eq!(keys(&client).await, written);
}

/// The plan of [`crate::search`]'s id query for `word`, limited to 20.
async fn plan(client: &Client, word: &str) -> String {
    let sql = format!(
        "EXPLAIN {}",
        crate::search::SEARCH_IDS_SQL
            .replace("$1::TEXT", &format!("'{word}'::TEXT"))
            .replace("$2::TEXT", "NULL::TEXT")
            .replace("$2", "NULL")
            .replace("$3", "20")
    );
    let rows = client.query(&sql, &[]).await.unwrap();
    rows.iter()
        .map(|row| row.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_common_word_walks_events_by_time_and_a_rare_one_sorts_its_matches() {
    const EVENTS: u64 = 20_000;
    let database = fresh_database();
    let store = PostgresStore::open(&database.url).unwrap();
    // Times out of insertion order; `gull` in every other event, `tern` in 5.
    let events = (0..EVENTS)
        .map(|i| {
            let minute = (i * 7_919) % EVENTS;
            let ts = Timestamp::from_second(1_700_000_000 + 60 * minute as i64).unwrap();
            let mut text = format!("note {i} on the shore");
            if i % 2 == 0 {
                text.push_str(" gull");
            }
            if i % 4_000 == 7 {
                text.push_str(" tern");
            }
            message(i + 1, ts, &text)
        })
        .collect();
    store
        .import_session(session("shore"), events)
        .await
        .unwrap();
    cluster().psql(&database.name, "VACUUM ANALYZE events");
    let client = client(&database).await;
    let common = plan(&client, "gull").await;
    assert!(common.contains("events_by_time"), "{common}");
    assert!(!common.contains("Sort"), "{common}");
    let rare = plan(&client, "tern").await;
    assert!(rare.contains("events_search"), "{rare}");
    assert!(!rare.contains("events_by_time"), "{rare}");
}
