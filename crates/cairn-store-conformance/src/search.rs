//! Full-text search: the search contract (see `contract` below) and its scope.

use std::sync::Arc;

use cairn_core::event::ToolResultContent;
use cairn_core::store::{SearchHit, SearchScope};
use cairn_core::{ContentBlock, Error, Message, NewEvent, Payload, Role, Store, Timestamp};

use crate::Fixture;
use crate::support::*;

pub async fn search_is_newest_first_with_highlights_and_scoped_by_project(t: Fixture) {
    let a = t.store.create_session(new_session("alpha")).await.unwrap();
    let mut other = new_session("beta");
    other.project = project("/p/two");
    let b = t.store.create_session(other).await.unwrap();
    t.store
        .append_events(
            a.id,
            vec![
                text(Role::User, "the tokenizer handles JWT refresh tokens"),
                text(Role::Assistant, "nothing here"),
            ],
        )
        .await
        .unwrap();
    t.store
        .append_events(b.id, vec![text(Role::User, "rotate the JWT signing key")])
        .await
        .unwrap();
    t.store
        .append_events(a.id, vec![text(Role::Assistant, "JWT decided")])
        .await
        .unwrap();
    let hits = scope_all(&t.store, "jwt").await;
    let found: Vec<(&str, u64)> = hits.iter().map(|h| (h.session.as_str(), h.seq)).collect();
    assert_eq!(found, vec![("alpha", 3), ("beta", 1), ("alpha", 1)]);
    assert!(hits[0].snippet.contains("[JWT]"), "{}", hits[0].snippet);
    assert_eq!(hits[0].role, Some(Role::Assistant));
    assert_eq!(hits[1].project, project("/p/two"));

    let scoped = t
        .store
        .search(
            "JWT",
            &SearchScope {
                project: Some(project("/p/two")),
                limit: 20,
            },
        )
        .await
        .unwrap();
    assert_eq!(scoped.len(), 1);
    assert_eq!(scoped[0].session, name("beta"));

    let limited = t
        .store
        .search(
            "jwt",
            &SearchScope {
                project: None,
                limit: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0].seq, 3);

    // Two words must both occur.
    let both = scope_all(&t.store, "jwt refresh").await;
    assert_eq!(both.len(), 1);
    assert!(both[0].snippet.contains("[JWT]") && both[0].snippet.contains("[refresh]"));
}

pub async fn search_takes_query_syntax_literally(t: Fixture) {
    let s = t.store.create_session(new_session("syntax")).await.unwrap();
    t.store
        .append_events(
            s.id,
            vec![
                text(Role::User, r#"she said "quoted words" AND then (left)"#),
                text(Role::User, "star* power NEAR the col:umn"),
                text(Role::User, "plain and simple"),
            ],
        )
        .await
        .unwrap();
    for query in [
        "\"",
        "\"\"",
        "*",
        "(",
        ")",
        "AND",
        "OR",
        "NOT",
        "NEAR(",
        "\"quoted",
        "quoted\"",
        "(left",
        "star*",
        "col:umn",
        "^",
        "-",
        "a AND",
        "AND OR NOT",
        "{x}",
        "'",
        ":",
        "\u{0}",
        "   ",
    ] {
        let result = t
            .store
            .search(
                query,
                &SearchScope {
                    project: None,
                    limit: 10,
                },
            )
            .await;
        assert!(result.is_ok(), "query {query:?}: {result:?}");
    }
    // Operators are words: "AND" finds the messages containing the word "and".
    let hits = scope_all(&t.store, "AND").await;
    assert_eq!(hits.len(), 2);
    let hits = scope_all(&t.store, "\"quoted").await;
    assert_eq!(hits.len(), 1);
    assert!(hits[0].snippet.contains("[quoted]"), "{}", hits[0].snippet);
    let hits = scope_all(&t.store, "star*").await;
    assert_eq!(hits.len(), 1);
    // `*` is not a prefix operator: "sta*" does not find "star".
    assert!(scope_all(&t.store, "sta*").await.is_empty());
    let hits = scope_all(&t.store, "(left)").await;
    assert_eq!(hits.len(), 1);
    assert!(scope_all(&t.store, "*").await.is_empty());
}

pub async fn deleting_a_session_removes_its_events_and_search_entries(t: Fixture) {
    let a = t.store.create_session(new_session("gone")).await.unwrap();
    let b = t.store.create_session(new_session("kept")).await.unwrap();
    t.store
        .append_events(
            a.id,
            vec![
                text(Role::User, "unicorn gone"),
                knowledge("unicorn fact", false),
                with_usage("u", Some("r1"), 1, 0.1),
            ],
        )
        .await
        .unwrap();
    t.store
        .append_events(b.id, vec![text(Role::User, "unicorn kept")])
        .await
        .unwrap();
    assert_eq!(scope_all(&t.store, "unicorn").await.len(), 3);
    t.store.delete_session(&name("gone")).await.unwrap();
    let hits = scope_all(&t.store, "unicorn").await;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].session, name("kept"));
    assert!(matches!(
        t.store.session(&name("gone")).await.unwrap_err(),
        Error::NotFound { .. }
    ));
    // The name is free again and the new session starts empty.
    let again = t.store.create_session(new_session("gone")).await.unwrap();
    assert_eq!(again.head_seq, 0);
    assert!(full_history(&t.store, again.id).await.is_empty());
    t.store
        .append_events(again.id, vec![with_usage("u", Some("r1"), 1, 0.1)])
        .await
        .unwrap();
    assert_eq!(
        t.store
            .session_by_id(again.id)
            .await
            .unwrap()
            .usage
            .input_tokens,
        1
    );
}

pub async fn a_project_scope_excludes_nested_and_sibling_projects(t: Fixture) {
    for (session, key) in [
        ("top", "/p/one"),
        ("nested", "/p/one/sub"),
        ("sibling", "/p/onex"),
    ] {
        let mut new = new_session(session);
        new.project = project(key);
        let s = t.store.create_session(new).await.unwrap();
        t.store
            .append_events(s.id, vec![text(Role::User, "common word")])
            .await
            .unwrap();
    }
    for (key, expected) in [
        ("/p/one", "top"),
        ("/p/one/sub", "nested"),
        ("/p/onex", "sibling"),
    ] {
        let hits = t
            .store
            .search(
                "common",
                &SearchScope {
                    project: Some(project(key)),
                    limit: 10,
                },
            )
            .await
            .unwrap();
        let names: Vec<&str> = hits.iter().map(|h| h.session.as_str()).collect();
        assert_eq!(names, [expected]);
    }
    assert_eq!(scope_all(&t.store, "common").await.len(), 3);
    // The project token is not searchable text.
    assert!(scope_all(&t.store, "p").await.is_empty());
}

// ---- the search contract ---------------------------------------------------
//
// What `Store::search` promises, whatever index a backend uses:
// - A query is split on whitespace into words. Every word that has a letter or a
//   digit must occur in the event's searchable text (all of them, in any order);
//   other words are ignored, and a query left with none finds nothing (no error).
//   Query syntax of the index (`AND`, `*`, quotes, `NEAR`, `:`) means nothing.
// - A word matches whole words of the text, not prefixes, ignoring case and
//   diacritics. Punctuation inside a word splits it: `refresh-token` finds the
//   two words next to each other, in that order.
// - Searchable text: the text, thinking and tool results of messages, compaction
//   summaries and knowledge items; not tool-call inputs, session names or project
//   paths.
// - Hits come newest first; `limit` caps them and 0 means no cap.
// - A snippet is a stretch of the matching text of at most 16 words, each hit
//   wrapped in `[` and `]` as written in the text, with `…` where it was cut.
// - `role` is the message's role; `None` for compactions and knowledge.

async fn search_with_limit(store: &Arc<dyn Store>, query: &str, limit: u32) -> Vec<SearchHit> {
    store
        .search(
            query,
            &SearchScope {
                project: None,
                limit,
            },
        )
        .await
        .unwrap()
}

async fn seqs_found(store: &Arc<dyn Store>, query: &str) -> Vec<u64> {
    let mut seqs: Vec<u64> = scope_all(store, query)
        .await
        .iter()
        .map(|h| h.seq)
        .collect();
    seqs.sort_unstable();
    seqs
}

pub async fn search_matches_whole_words_ignoring_case_and_diacritics(t: Fixture) {
    let s = t.store.create_session(new_session("words")).await.unwrap();
    t.store
        .append_events(
            s.id,
            vec![
                text(Role::User, "Le Café is open"),
                text(Role::User, "the tokenizer counts tokens"),
                text(Role::User, "rotate the refresh-token daily"),
                text(Role::User, "token refresh happens later"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(seqs_found(&t.store, "cafe").await, vec![1]);
    assert_eq!(seqs_found(&t.store, "CAFÉ").await, vec![1]);
    assert_eq!(seqs_found(&t.store, "café OPEN").await, vec![1]);
    // Whole words only: no prefixes, no stems.
    assert!(seqs_found(&t.store, "tok").await.is_empty());
    assert_eq!(seqs_found(&t.store, "tokens").await, vec![2]);
    assert_eq!(seqs_found(&t.store, "token").await, vec![3, 4]);
    // Every word must occur, in any order.
    assert_eq!(seqs_found(&t.store, "refresh token").await, vec![3, 4]);
    assert!(seqs_found(&t.store, "token tokenizer").await.is_empty());
    // Punctuation splits a word into words that must follow each other.
    assert_eq!(seqs_found(&t.store, "refresh-token").await, vec![3]);
    assert_eq!(seqs_found(&t.store, "token-refresh").await, vec![4]);
    // Words without a letter or digit are ignored; none left finds nothing.
    assert_eq!(seqs_found(&t.store, "-- cafe !!").await, vec![1]);
    assert!(seqs_found(&t.store, "-- !!").await.is_empty());
    assert!(seqs_found(&t.store, "").await.is_empty());
}

pub async fn search_covers_message_thinking_tool_results_summaries_and_knowledge(t: Fixture) {
    let s = t.store.create_session(new_session("kinds")).await.unwrap();
    let thinking = Message::new(
        Role::Assistant,
        vec![
            ContentBlock::Thinking {
                text: "pondering zebras".into(),
                signature: None,
            },
            ContentBlock::ToolUse {
                id: "t1".into(),
                name: "grep".into(),
                input: serde_json::json!({"pattern": "giraffe"}),
            },
        ],
    );
    let result = Message::new(
        Role::Tool,
        vec![ContentBlock::ToolResult {
            tool_use_id: "t1".into(),
            content: ToolResultContent::Text("found an okapi".into()),
            is_error: false,
        }],
    );
    t.store
        .append_events(
            s.id,
            vec![
                text(Role::User, "about the lemur"),
                NewEvent::now(Payload::Message(thinking)),
                NewEvent::now(Payload::Message(result)),
                knowledge("the walrus decision", false),
            ],
        )
        .await
        .unwrap();
    t.store
        .append_events(s.id, vec![compaction(1, 4)])
        .await
        .unwrap();
    for (word, seq) in [("lemur", 1), ("zebras", 2), ("okapi", 3), ("walrus", 4)] {
        assert_eq!(seqs_found(&t.store, word).await, vec![seq], "{word}");
    }
    // The compaction's summary is "summary of 1..4".
    assert_eq!(seqs_found(&t.store, "summary").await, vec![5]);
    let hits = scope_all(&t.store, "walrus").await;
    assert_eq!(hits[0].role, None);
    assert_eq!(scope_all(&t.store, "okapi").await[0].role, Some(Role::Tool));
    // Tool-call inputs, session names and projects are not searchable text.
    assert!(seqs_found(&t.store, "giraffe").await.is_empty());
    assert!(seqs_found(&t.store, "kinds").await.is_empty());
    assert!(seqs_found(&t.store, "one").await.is_empty());
}

pub async fn search_is_newest_first_and_limit_zero_means_every_hit(t: Fixture) {
    let a = t.store.create_session(new_session("a")).await.unwrap();
    let b = t.store.create_session(new_session("b")).await.unwrap();
    for i in 0..30u64 {
        let id = if i % 2 == 0 { a.id } else { b.id };
        t.store
            .append_events(id, vec![text(Role::User, &format!("otter number {i}"))])
            .await
            .unwrap();
    }
    let all = search_with_limit(&t.store, "otter", 0).await;
    assert_eq!(all.len(), 30);
    let times: Vec<Timestamp> = all.iter().map(|h| h.ts).collect();
    let mut newest_first = times.clone();
    newest_first.sort_by(|x, y| y.cmp(x));
    assert_eq!(times, newest_first);
    assert!(all[0].snippet.contains("29"), "{}", all[0].snippet);
    let five = search_with_limit(&t.store, "otter", 5).await;
    assert_eq!(five, all[..5].to_vec());
}

pub async fn snippets_wrap_hits_in_brackets_and_cut_long_text(t: Fixture) {
    let s = t.store.create_session(new_session("long")).await.unwrap();
    let before: Vec<String> = (0..40).map(|i| format!("w{i}")).collect();
    let after: Vec<String> = (40..80).map(|i| format!("w{i}")).collect();
    let long = format!("{} Needle {}", before.join(" "), after.join(" "));
    t.store
        .append_events(
            s.id,
            vec![
                text(Role::User, &long),
                text(Role::User, "short Needle text"),
            ],
        )
        .await
        .unwrap();
    let hits = scope_all(&t.store, "needle").await;
    assert_eq!(hits.len(), 2);
    // Whole short text, the hit as written.
    assert_eq!(hits[0].snippet, "short [Needle] text");
    let cut = &hits[1].snippet;
    assert!(cut.contains("[Needle]"), "{cut}");
    assert!(cut.starts_with('…') && cut.ends_with('…'), "{cut}");
    let words = cut.trim_matches('…').split_whitespace().count();
    assert!(words <= 16, "{words} words: {cut}");
}

fn at(seq: u64, ts: &str, text: &str) -> cairn_core::Event {
    cairn_core::Event {
        seq,
        ts: ts.parse().unwrap(),
        payload: Payload::Message(Message::text(Role::User, text)),
    }
}

/// An imported session keeps its events' times; search orders by them, not by
/// when the rows were stored.
pub async fn search_orders_by_event_time_not_by_insertion(t: Fixture) {
    t.store
        .import_session(
            new_session("recent"),
            vec![at(1, "2026-03-01T10:00:00Z", "zebra crossing")],
        )
        .await
        .unwrap();
    t.store
        .import_session(
            new_session("ancient"),
            vec![
                at(1, "2019-01-01T00:00:00Z", "zebra stripes"),
                // An offset: 12:30+02:00 is 10:30Z, later than "recent".
                at(2, "2026-03-01T12:30:00+02:00", "zebra herd"),
                at(3, "2026-03-01T10:00:00.5Z", "zebra foal"),
            ],
        )
        .await
        .unwrap();
    let hits = scope_all(&t.store, "zebra").await;
    let found: Vec<(&str, u64)> = hits.iter().map(|h| (h.session.as_str(), h.seq)).collect();
    assert_eq!(
        found,
        vec![
            ("ancient", 2),
            ("ancient", 3),
            ("recent", 1),
            ("ancient", 1)
        ]
    );
    let limited = t
        .store
        .search(
            "zebra",
            &SearchScope {
                project: None,
                limit: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(limited[0].seq, 2);
}

/// A word in thousands of events (SQLite then walks events by time instead of
/// sorting every match): still newest first by event time, within the project
/// scope, and phrases still checked.
pub async fn a_word_with_many_matches_is_still_newest_first_by_event_time(t: Fixture) {
    const EVENTS: u64 = 2_400;
    // A fixed shuffle of the times: event i happens at minute `(i * 7919) % EVENTS`.
    let minute = |i: u64| (i * 7_919) % EVENTS;
    let events = (0..EVENTS)
        .map(|i| {
            let ts = Timestamp::from_second(1_700_000_000 + 60 * minute(i) as i64).unwrap();
            let text = if i % 3 == 0 {
                "walrus-tusk seen"
            } else {
                "tusk of a walrus"
            };
            cairn_core::Event {
                seq: i + 1,
                ts,
                payload: message(Role::User, text),
            }
        })
        .collect();
    t.store
        .import_session(new_session("herd"), events)
        .await
        .unwrap();
    // Newer, but in another project: out of scope.
    let mut elsewhere = new_session("elsewhere");
    elsewhere.project = project("/p/two");
    let late = cairn_core::Event {
        seq: 1,
        ts: Timestamp::from_second(1_800_000_000).unwrap(),
        payload: message(Role::User, "walrus-tusk elsewhere"),
    };
    t.store.import_session(elsewhere, vec![late]).await.unwrap();

    let newest = |wanted: &dyn Fn(u64) -> bool, n: usize| {
        let mut seqs: Vec<(u64, u64)> = (0..EVENTS)
            .filter(|i| wanted(*i))
            .map(|i| (minute(i), i + 1))
            .collect();
        seqs.sort_unstable_by(|a, b| b.cmp(a));
        seqs.into_iter()
            .take(n)
            .map(|(_, seq)| seq)
            .collect::<Vec<u64>>()
    };
    let in_one = |query: &'static str, limit: u32| {
        let store = t.store.clone();
        async move {
            let scope = SearchScope {
                project: Some(project("/p/one")),
                limit,
            };
            let hits = store.search(query, &scope).await.unwrap();
            assert!(
                hits.iter().all(|h| h.session.as_str() == "herd"),
                "{hits:?}"
            );
            hits.iter().map(|h| h.seq).collect::<Vec<u64>>()
        }
    };
    assert_eq!(in_one("walrus", 7).await, newest(&|_| true, 7));
    assert_eq!(in_one("walrus-tusk", 5).await, newest(&|i| i % 3 == 0, 5));
    let every = in_one("walrus", 0).await;
    assert_eq!(every.len(), EVENTS as usize);
    assert_eq!(every[..7], newest(&|_| true, 7)[..]);
}

pub async fn checkpoints_are_found_by_full_text_search(t: Fixture) {
    let mut first = checkpoint("auth-v2", "/p/one", None);
    first.summary = "Login flow works end to end".into();
    first.decisions_made = vec!["Use RS256 signatures".into()];
    first.next_steps = vec!["Rotate the signing keys".into()];
    t.store.save_checkpoint(first).await.unwrap();
    let mut second = checkpoint("billing", "/p/two", None);
    second.summary = "Invoices render; signing pending".into();
    second.files_touched = vec!["lib/invoice.rs".into()];
    t.store.save_checkpoint(second).await.unwrap();

    let all = SearchScope {
        project: None,
        limit: 20,
    };
    for (query, session) in [
        ("login", "auth-v2"),
        ("rs256", "auth-v2"),
        ("rotate keys", "auth-v2"),
        ("src/a.rs", "auth-v2"),
        ("invoices", "billing"),
    ] {
        let hits = t.store.search_checkpoints(query, &all).await.unwrap();
        let ids: Vec<&str> = hits.iter().map(|h| h.session_id.as_str()).collect();
        assert_eq!(ids, [session], "{query}");
    }
    let hits = t.store.search_checkpoints("Signing", &all).await.unwrap();
    let ids: Vec<&str> = hits.iter().map(|h| h.session_id.as_str()).collect();
    assert_eq!(ids, ["billing", "auth-v2"], "newest first");
    assert!(hits[0].snippet.contains("[signing]"), "{}", hits[0].snippet);
    assert_eq!(hits[1].project, project("/p/one"));
    assert_eq!(hits[1].round_id, "1");

    let scoped = t
        .store
        .search_checkpoints(
            "signing",
            &SearchScope {
                project: Some(project("/p/one")),
                limit: 20,
            },
        )
        .await
        .unwrap();
    assert_eq!(scoped.len(), 1);
    assert_eq!(scoped[0].session_id, "auth-v2");
    let one = SearchScope {
        project: None,
        limit: 1,
    };
    assert_eq!(
        t.store
            .search_checkpoints("signing", &one)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        t.store
            .search_checkpoints("AND *", &all)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        t.store
            .search_checkpoints("nowhere", &all)
            .await
            .unwrap()
            .is_empty()
    );
}
