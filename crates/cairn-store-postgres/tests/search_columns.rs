//! Message search without a stored copy of the text and without positions
//! (migration 9): a store written before it finds the same hits, with the same
//! snippets, after its migration, and exports the same events.

use cairn_core::event::Message;
use cairn_core::{NewEvent, NewSession, Payload, Project, Role, SessionName, Store};
use cairn_store_postgres::PostgresStore;
use cairn_store_postgres::migrations::LATEST_VERSION;
use cairn_testkit::postgres::{cluster, fresh_database};
use ulid::Ulid;

mod support;
use support::export;

fn message(role: Role, text: &str) -> NewEvent {
    NewEvent::now(Payload::Message(Message::text(role, text)))
}

/// Each query's hits as `seq snippet` lines.
async fn found(store: &dyn Store, id: Ulid) -> Vec<String> {
    let mut out = Vec::new();
    for query in [
        "refresh-token",
        "token",
        "without_inline_media",
        "daily rotate",
    ] {
        let hits = store.search_session(id, query, 0).await.unwrap();
        out.push(
            hits.iter()
                .map(|hit| format!("{} {}", hit.seq, hit.snippet))
                .collect::<Vec<_>>()
                .join("\n"),
        );
    }
    out
}

fn count(database: &str, sql: &str) -> i64 {
    cluster().psql(database, sql).trim().parse().unwrap()
}

/// Rewrites the store's search columns to what cairn wrote before migration 9:
/// each event's searchable text and its vector with positions.
async fn back_to_version_8(url: &str, store: &dyn Store, id: Ulid) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute("ALTER TABLE events ADD COLUMN search_text TEXT")
        .await
        .unwrap();
    for event in store.events_after(id, 0, 0).await.unwrap() {
        let text = event.payload.searchable_text();
        client
            .execute(
                "UPDATE events SET search_text = $1, search = to_tsvector('cairn_search', \
                 regexp_replace($1, '[^[:alnum:]]+', ' ', 'g')) \
                 WHERE seq = $2 AND session = (SELECT id FROM sessions WHERE ulid = $3)",
                &[&text, &(event.seq as i64), &id.to_string()],
            )
            .await
            .unwrap();
    }
    client
        .batch_execute("ALTER TABLE events DROP COLUMN at_us; UPDATE cairn_schema SET version = 8")
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_old_store_searches_the_same_after_its_search_columns_shrink() {
    let database = fresh_database();
    let store = PostgresStore::open(&database.url).unwrap();
    let session = store
        .create_session(NewSession::new(
            SessionName::parse("old").unwrap(),
            Project::from_stored("/p/one"),
        ))
        .await
        .unwrap();
    let output = format!("// read\n{}", include_str!("../src/events.rs"));
    store
        .append_events(
            session.id,
            vec![
                message(Role::User, "rotate the refresh-token daily"),
                message(Role::Assistant, "token refresh happens at noon"),
                message(Role::Tool, &output),
                message(Role::Assistant, "refresh the token, then rotate it daily"),
            ],
        )
        .await
        .unwrap();
    let exported = export(&store, session.id).await;
    let hits = found(&store, session.id).await;
    // A phrase needs its words next to each other, in order; other words do not.
    assert_eq!(hits[0], "1 rotate the [refresh]-[token] daily");
    assert_eq!(hits[3].lines().count(), 2, "{}", hits[3]);

    back_to_version_8(&database.url, &store, session.id).await;
    let positional = "SELECT count(*) FROM events WHERE search <> strip(search)";
    assert_eq!(count(&database.name, positional), 4);

    let upgraded = PostgresStore::open(&database.url).unwrap();
    assert_eq!(upgraded.schema_version().await.unwrap(), LATEST_VERSION);
    assert_eq!(count(&database.name, positional), 0);
    assert_eq!(
        count(
            &database.name,
            "SELECT count(*) FROM information_schema.columns \
             WHERE table_name = 'events' AND column_name = 'search_text'"
        ),
        0
    );
    assert_eq!(export(&upgraded, session.id).await, exported);
    assert_eq!(found(&upgraded, session.id).await, hits);
}
