//! The PostgreSQL backend: the store conformance suite against a throwaway
//! cluster (one fresh database per test), then what only PostgreSQL has
//! (migrations, other connections' notices, the URL and its password).

use std::sync::Arc;

use cairn_core::Store;
use cairn_store_conformance::Fixture;
use cairn_store_postgres::open_store;
use cairn_testkit::postgres::fresh_database;

/// A fresh store on its own database, for the conformance suite.
fn fresh() -> Fixture {
    let database = fresh_database();
    let url = database.url.clone();
    let store: Arc<dyn Store> = open_store(&url).unwrap();
    Fixture::new(store, move || open_store(&url).unwrap())
}

cairn_store_conformance::store_conformance_tests!(fresh);

// ---- what only PostgreSQL has ---------------------------------------------------

use std::net::TcpListener;
use std::time::{Duration, Instant};

use cairn_core::event::Message;
use cairn_core::{
    Error, KnowledgeItem, KnowledgeKind, KnowledgeScope, NewEvent, NewSession, Payload, Project,
    Role, SessionName, StoreChange,
};
use cairn_store_postgres::PostgresStore;
use cairn_store_postgres::migrations::LATEST_VERSION;
use cairn_testkit::postgres::cluster;

fn new_session(raw: &str) -> NewSession {
    NewSession::new(
        SessionName::parse(raw).unwrap(),
        Project::from_stored("/p/one"),
    )
}

fn text(role: Role, text: &str) -> NewEvent {
    NewEvent::now(Payload::Message(Message::text(role, text)))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_database_is_brought_to_the_latest_schema_and_a_newer_one_is_refused() {
    let database = fresh_database();
    let store = PostgresStore::open(&database.url).unwrap();
    store.check().await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), LATEST_VERSION);
    // Opening again applies nothing and keeps what was written.
    let s = store.create_session(new_session("kept")).await.unwrap();
    let again = PostgresStore::open(&database.url).unwrap();
    again.check().await.unwrap();
    assert_eq!(again.session_by_id(s.id).await.unwrap().name, s.name);

    cluster().psql(
        &database.name,
        &format!("UPDATE cairn_schema SET version = {}", LATEST_VERSION + 1),
    );
    // A search as the first use is refused too, though its statement answered.
    let searching = PostgresStore::open(&database.url).unwrap();
    let scope = cairn_core::store::SearchScope {
        project: None,
        limit: 0,
    };
    let err = searching.search("kept", &scope).await.unwrap_err();
    assert!(err.to_string().contains("newer cairn"), "{err}");
    let newer = PostgresStore::open(&database.url).unwrap();
    let err = newer.session_by_id(s.id).await.unwrap_err();
    assert!(matches!(err, Error::StoreUnusable { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("newer cairn"), "{message}");
    assert!(
        message.contains(&format!("version {}", LATEST_VERSION + 1)),
        "{message}"
    );
    // Refused means untouched.
    assert_eq!(
        cluster()
            .psql(&database.name, "SELECT version FROM cairn_schema")
            .trim(),
        (LATEST_VERSION + 1).to_string()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_never_answers_is_a_clear_error_within_seconds() {
    // Accepts the TCP connection (the kernel does) and never says a word.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let url = format!("postgres://me:hunter2@127.0.0.1:{port}/cairn?connect_timeout=1");
    let store = PostgresStore::open(&url).unwrap();
    let started = Instant::now();
    let err = store.count_sessions(None).await.unwrap_err().to_string();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(err.contains("did not answer in time"), "{err}");
    assert!(
        err.contains(&format!("postgres://me:***@127.0.0.1:{port}/cairn")),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "the password leaked: {err}");
    drop(silent);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_connection_or_login_names_the_server_without_the_password() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!("postgres://me:hunter2@127.0.0.1:{port}/cairn");
    let err = open_store(&url)
        .unwrap()
        .count_sessions(None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("me:***@127.0.0.1"), "{err}");
    assert!(!err.contains("hunter2"), "the password leaked: {err}");

    // A database that does not exist: the server's own words, no password.
    let url = format!(
        "postgres://postgres:hunter2@127.0.0.1:{}/no_such_database",
        cluster().port()
    );
    let err = open_store(&url)
        .unwrap()
        .count_sessions(None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no_such_database"), "{err}");
    assert!(!err.contains("hunter2"), "the password leaked: {err}");

    // A URL that is not one is refused before any connection, without echoing it.
    let err = open_store("postgres://me:hunter2@db.example:notaport/cairn")
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("not a PostgreSQL URL"), "{err}");
    assert!(!err.contains("hunter2"), "the password leaked: {err}");
}

/// Another `PostgresStore` on the same database has its own connections, exactly
/// like another process or another machine.
#[tokio::test(flavor = "multi_thread")]
async fn writes_of_another_store_arrive_as_external_changes_through_notify() {
    let database = fresh_database();
    let here = open_store(&database.url).unwrap();
    let there = open_store(&database.url).unwrap();
    let s = there
        .create_session(new_session("elsewhere"))
        .await
        .unwrap();
    let mut rx = here.changes();
    // The listener connects in the background: write until it hears one.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        there
            .append_events(s.id, vec![text(Role::User, "over there")])
            .await
            .unwrap();
        match tokio::time::timeout(Duration::from_millis(200), rx.recv()).await {
            Ok(change) => {
                assert_eq!(change.unwrap(), StoreChange::External);
                break;
            }
            Err(_) => assert!(Instant::now() < deadline, "no notice within 10 s"),
        }
    }
    // Drain what the loop's other writes announced.
    while tokio::time::timeout(Duration::from_millis(300), rx.recv())
        .await
        .is_ok()
    {}
    // Its own write is announced precisely, and not a second time as External.
    let seqs = here
        .append_events(s.id, vec![text(Role::User, "here")])
        .await
        .unwrap();
    assert_eq!(
        rx.recv().await.unwrap(),
        StoreChange::SessionAppended {
            session: s.id,
            head_seq: seqs[0]
        }
    );
    let echo = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await;
    assert!(echo.is_err(), "own write reported again: {echo:?}");
}

/// Writers with their own pools (like processes on several machines) appending to
/// one session at once: every event lands once, seqs dense from 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writers_of_several_stores_keep_one_sessions_seqs_dense() {
    let database = fresh_database();
    let first = open_store(&database.url).unwrap();
    let s = first.create_session(new_session("shared")).await.unwrap();
    let mut tasks = Vec::new();
    for writer in 0..4 {
        let store = open_store(&database.url).unwrap();
        for task in 0..3 {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                for i in 0..10 {
                    store
                        .append_events(
                            s.id,
                            vec![
                                text(Role::User, &format!("w{writer} t{task} e{i} a")),
                                text(Role::Assistant, &format!("w{writer} t{task} e{i} b")),
                            ],
                        )
                        .await
                        .unwrap();
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    let events = first.events_after(s.id, 0, 0).await.unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=240).collect::<Vec<_>>());
    // Each batch stayed together: its two events are neighbours.
    for pair in events.chunks(2) {
        let a = pair[0].payload.as_message().unwrap().plain_text();
        let b = pair[1].payload.as_message().unwrap().plain_text();
        assert_eq!(a.trim_end_matches(" a"), b.trim_end_matches(" b"));
    }
    let session = first.session_by_id(s.id).await.unwrap();
    assert_eq!((session.head_seq, session.message_count), (240, 240));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_that_may_not_create_the_schema_is_told_what_to_ask_for() {
    let database = fresh_database();
    let role = format!("{}_reader", database.name);
    cluster().psql(&database.name, &format!("CREATE ROLE {role} LOGIN"));
    let url = format!(
        "postgres://{role}:hunter2@127.0.0.1:{}/{}",
        cluster().port(),
        database.name
    );
    let err = open_store(&url)
        .unwrap()
        .count_sessions(None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::StoreUnusable { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("permission denied"), "{message}");
    assert!(message.contains("CREATE EXTENSION unaccent"), "{message}");
    assert!(
        !message.contains("hunter2"),
        "the password leaked: {message}"
    );
    // Nothing was created.
    assert_eq!(
        cluster()
            .psql(
                &database.name,
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            )
            .trim(),
        "0"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_of_an_older_version_is_brought_up_to_date_keeping_its_data() {
    let database = fresh_database();
    let store = PostgresStore::open(&database.url).unwrap();
    let s = store.create_session(new_session("old")).await.unwrap();
    // A session of a checkout that exists on this machine, made before keys.
    let checkout = tempfile::tempdir().unwrap();
    let root = checkout.path().canonicalize().unwrap();
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::write(
        root.join(".git/config"),
        "[remote \"origin\"]\n\turl = git@github.com:acme/api.git\n",
    )
    .unwrap();
    let keyed = store
        .create_session(NewSession::new(
            SessionName::parse("in-checkout").unwrap(),
            Project::from_stored(root.to_string_lossy()),
        ))
        .await
        .unwrap();
    let mut saved = cairn_store_conformance::support::checkpoint("old-work", "/p/one", None);
    saved.summary = "Checkpointed before search existed".into();
    store.save_checkpoint(saved).await.unwrap();
    store
        .append_events(
            s.id,
            vec![NewEvent::now(Payload::Knowledge(KnowledgeItem {
                knowledge_kind: KnowledgeKind::Decision,
                text: "tabs in this repo".into(),
                pinned: false,
                scope: KnowledgeScope::Project,
                extra: Default::default(),
            }))],
        )
        .await
        .unwrap();
    // Back to version 1: before import origins, project keys, authors, forks' live
    // states, the knowledge index's scopes and the events' times existed.
    cluster().psql(
        &database.name,
        "DROP TABLE import_origins; DROP TABLE session_authors; DROP TABLE live_bounds; \
         ALTER TABLE sessions DROP COLUMN live_gaps; \
         ALTER TABLE sessions DROP COLUMN project_key; \
         ALTER TABLE checkpoints DROP COLUMN project_key, DROP COLUMN author; \
         ALTER TABLE pool_signals DROP COLUMN project_key, DROP COLUMN author; \
         ALTER TABLE pool_instances DROP COLUMN project_key; \
         ALTER TABLE events DROP COLUMN author; \
         ALTER TABLE attachments DROP COLUMN put_us; \
         DROP TRIGGER checkpoints_search ON checkpoints; \
         DROP FUNCTION cairn_checkpoint_search(); \
         ALTER TABLE checkpoints DROP COLUMN search_text, DROP COLUMN search; \
         ALTER TABLE knowledge DROP COLUMN project_wide; \
         ALTER TABLE events DROP COLUMN payload, DROP COLUMN payload_at; DROP TABLE payloads; \
         ALTER TABLE events ADD COLUMN search_text TEXT; \
         ALTER TABLE events DROP COLUMN at_us; \
         UPDATE cairn_schema SET version = 1",
    );
    let upgraded = PostgresStore::open(&database.url).unwrap();
    assert_eq!(upgraded.session_by_id(s.id).await.unwrap().name, s.name);
    // The session of the checkout got its key; the other keeps its path.
    let project = upgraded.session_by_id(keyed.id).await.unwrap().project;
    assert_eq!(project.key(), "github.com/acme/api");
    assert_eq!(project.as_str(), root.to_string_lossy());
    let other = upgraded.session_by_id(s.id).await.unwrap().project;
    assert_eq!(other.key(), "/p/one");
    assert_eq!(upgraded.schema_version().await.unwrap(), LATEST_VERSION);
    assert!(
        upgraded
            .import_origin("codex", "x")
            .await
            .unwrap()
            .is_none()
    );
    let fork = upgraded
        .fork_session(s.id, None, new_session("old-fork"))
        .await
        .unwrap();
    assert_eq!(fork.fork_seq, Some(1), "after its one event");
    // Existing checkpoints were indexed by the migration.
    let scope = cairn_core::SearchScope {
        project: None,
        limit: 5,
    };
    let hits = upgraded
        .search_checkpoints("checkpointed", &scope)
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].session_id, "old-work");
    // The knowledge index learnt each event's scope from its body.
    let knowledge = upgraded
        .project_knowledge(&Project::from_stored("/p/one"))
        .await
        .unwrap();
    assert_eq!(knowledge.len(), 1);
    assert_eq!(knowledge[0].session, s.name);
}

#[tokio::test(flavor = "multi_thread")]
async fn search_statistics_keep_rare_words_rare() {
    // The planner's estimate of a rare word decides between the GIN index and a
    // walk of the whole table (see migration 6).
    let database = fresh_database();
    let store = PostgresStore::open(&database.url).unwrap();
    store.check().await.unwrap();
    let target = cluster().psql(
        &database.name,
        "SELECT attstattarget FROM pg_attribute \
         WHERE attrelid = 'events'::regclass AND attname = 'search'",
    );
    assert_eq!(target.trim(), "1000");
}
