//! The zstd dictionary of small event bodies through the real binary: a store
//! that grows past a couple of thousand events trains one on its own bodies and
//! keeps them compressed with it; a store written before dictionaries existed
//! exports the same before and after `cairn store compact` converts it; and a
//! damaged frame or a missing dictionary is an error naming the session and the
//! event, not a panic nor wrong text.

use crate::sessions_fixtures;

use std::io::Read;

use cairn_testkit::chat_text::step;
use cairn_testkit::cli::Cairn;
use cairn_testkit::home::TestHome;
use cairn_testkit::store_bodies::{dictionary_of, forms};
use rusqlite::types::ValueRef;
use sessions_fixtures::*;

/// More events than a store holds before it trains its dictionary (2,000).
const EVENTS: usize = 2_200;

/// Varied short messages, like a long chat's.
fn texts(salt: usize) -> Vec<String> {
    (0..EVENTS).map(|i| step(i, salt)).collect()
}

fn import_chat(c: &Cairn, home: &TestHome, name: &str, salt: usize) {
    let texts = texts(salt);
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    import(
        c,
        home,
        &format!("{name}.jsonl"),
        &simple(name, "/work/api", &texts),
    )
    .success();
}

fn export(c: &Cairn, name: &str) -> String {
    let out = c.run(["sessions", "export", name]);
    out.success();
    out.stdout.clone()
}

fn open(home: &TestHome) -> rusqlite::Connection {
    rusqlite::Connection::open(home.store_file()).unwrap()
}

/// Rewrites the store as cairn left it before dictionaries, the time index and
/// knowledge scopes (schema version 10):
/// every body compressed with a dictionary back to plain text (decoded by an
/// independent zstd implementation), no `dictionaries` table.
fn store_bodies_without_dictionary(home: &TestHome) -> usize {
    let conn = open(home);
    let raw: Vec<u8> = conn
        .query_row("SELECT data FROM dictionaries", [], |row| row.get(0))
        .unwrap();
    let rows: Vec<(i64, String)> = {
        let mut statement = conn
            .prepare("SELECT id, body FROM events WHERE typeof(body) = 'blob'")
            .unwrap();
        let mut rows = statement.query([]).unwrap();
        let mut out = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            let ValueRef::Blob(frame) = row.get_ref(1).unwrap() else {
                unreachable!()
            };
            if dictionary_of(frame) == 0 {
                continue;
            }
            let mut decoder = ruzstd::decoding::FrameDecoder::new();
            decoder
                .add_dict(ruzstd::decoding::Dictionary::decode_dict(&raw).unwrap())
                .unwrap();
            let mut text = String::new();
            ruzstd::decoding::StreamingDecoder::new_with_decoder(frame, decoder)
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            out.push((row.get(0).unwrap(), text));
        }
        out
    };
    for (id, body) in &rows {
        conn.execute(
            "UPDATE events SET body = ?1 WHERE id = ?2",
            rusqlite::params![body, id],
        )
        .unwrap();
    }
    // Dropping a column re-reads the schema, whose views and triggers name
    // cairn's functions.
    cairn_store_sqlite::register_sql_functions(&conn).unwrap();
    conn.execute_batch(
        "DROP TABLE dictionaries; DROP INDEX events_by_time; \
         ALTER TABLE knowledge DROP COLUMN project_wide; PRAGMA user_version = 10;",
    )
    .unwrap();
    rows.len()
}

#[test]
fn a_growing_store_trains_a_dictionary_and_an_older_one_gets_it_from_compact_without_loss() {
    let home = TestHome::new();
    let c = on_sqlite(&home);
    import_chat(&c, &home, "long-chat", 0);
    let (dictionaries, plain, with_dictionary) = forms(&home.store_file());
    assert_eq!(dictionaries, 1, "trained once the store grew");
    assert!(
        with_dictionary as usize > EVENTS * 9 / 10 && plain < 100,
        "{plain} plain, {with_dictionary} with the dictionary"
    );
    import_chat(&c, &home, "other-chat", 5);
    let before = [export(&c, "long-chat"), export(&c, "other-chat")];

    let converted = store_bodies_without_dictionary(&home);
    assert!(converted > 2 * EVENTS * 9 / 10, "{converted}");
    // The first open upgrades the store and says so, once.
    c.run(["sessions", "list", "--all"])
        .success()
        .stderr_has(&["upgrading the store", "from schema 10 to"]);
    let again = c.run(["sessions", "list", "--all"]);
    assert!(
        !again.success().stderr.contains("upgrading"),
        "{}",
        again.stderr
    );
    // Opening migrates the schema; the rows keep their older form meanwhile.
    assert_eq!([export(&c, "long-chat"), export(&c, "other-chat")], before);
    let (dictionaries, plain, _) = forms(&home.store_file());
    assert_eq!(dictionaries, 0);
    assert!(plain as usize >= converted, "{plain}");

    let compacted = c.run(["store", "compact", "--json"]).success().json();
    assert_eq!(compacted["interrupted"], false, "{compacted:#}");
    let rewritten = compacted["events_rewritten"].as_u64().unwrap() as usize;
    assert!(rewritten > 2 * EVENTS * 9 / 10, "{compacted:#}");
    let (dictionaries, plain, with_dictionary) = forms(&home.store_file());
    assert_eq!(dictionaries, 1);
    assert!(
        plain < 50 && with_dictionary as usize > 2 * EVENTS * 9 / 10,
        "{plain} plain, {with_dictionary} with the dictionary"
    );
    assert_eq!([export(&c, "long-chat"), export(&c, "other-chat")], before);
    // Search reads the text back through the dictionary.
    let hits = c
        .run(["sessions", "search", "checksum", "--all", "--json"])
        .success()
        .json();
    assert!(!hits.as_array().unwrap().is_empty(), "{hits:#}");
    let again = c.run(["store", "compact", "--json"]).success().json();
    assert_eq!(again["events_rewritten"], 0, "{again:#}");
}

/// The ULID of a session and the seq of one of its events stored with the
/// dictionary.
fn an_event_with_dictionary(home: &TestHome, name: &str) -> (String, u64, i64) {
    let conn = open(home);
    let mut statement = conn
        .prepare(
            "SELECT s.ulid, e.seq, e.id, e.body FROM events e JOIN sessions s ON s.id = e.session \
             WHERE s.name = ?1 AND typeof(e.body) = 'blob' ORDER BY e.seq",
        )
        .unwrap();
    let mut rows = statement.query([name]).unwrap();
    while let Some(row) = rows.next().unwrap() {
        if let ValueRef::Blob(frame) = row.get_ref(3).unwrap()
            && dictionary_of(frame) != 0
        {
            return (
                row.get(0).unwrap(),
                row.get(1).unwrap(),
                row.get(2).unwrap(),
            );
        }
    }
    panic!("no event of {name} is stored with the dictionary");
}

fn assert_names_the_event(c: &Cairn, ulid: &str, seq: u64, cause: &str) {
    let out = c.run(["sessions", "export", "long-chat"]);
    assert_ne!(out.code, Some(0), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    for expected in [ulid, &format!("event seq {seq}"), cause] {
        assert!(
            out.stderr.contains(expected),
            "`{expected}` missing from: {}",
            out.stderr
        );
    }
}

#[test]
fn a_damaged_frame_or_a_missing_dictionary_names_the_session_and_the_event() {
    let home = TestHome::new();
    let c = on_sqlite(&home);
    import_chat(&c, &home, "long-chat", 0);
    let (ulid, seq, id) = an_event_with_dictionary(&home, "long-chat");
    let conn = open(&home);

    // A frame whose header claims far more than it could hold, then one whose
    // compressed bytes are garbage.
    let frame: Vec<u8> = conn
        .query_row("SELECT body FROM events WHERE id = ?1", [id], |row| {
            row.get(0)
        })
        .unwrap();
    let mut huge = frame.clone();
    let descriptor = huge[4];
    huge[4] = (descriptor & !0xC0) | 0xC0 | 0x20; // 8-byte content size, single segment
    let at = 5 + [0, 1, 2, 4][usize::from(descriptor & 0x03)];
    let mut claimed = huge[..at].to_vec();
    claimed.extend_from_slice(&(1u64 << 40).to_le_bytes());
    claimed.extend_from_slice(&frame[frame.len() - 8..]);
    conn.execute(
        "UPDATE events SET body = ?1 WHERE id = ?2",
        rusqlite::params![claimed, id],
    )
    .unwrap();
    assert_names_the_event(&c, &ulid, seq, "damaged");

    let mut garbage = frame.clone();
    let len = garbage.len();
    for byte in &mut garbage[len - 12..] {
        *byte ^= 0x5a;
    }
    conn.execute(
        "UPDATE events SET body = ?1 WHERE id = ?2",
        rusqlite::params![garbage, id],
    )
    .unwrap();
    assert_names_the_event(&c, &ulid, seq, "damaged");

    conn.execute(
        "UPDATE events SET body = ?1 WHERE id = ?2",
        rusqlite::params![frame, id],
    )
    .unwrap();
    export(&c, "long-chat");
    conn.execute("DELETE FROM dictionaries", []).unwrap();
    assert_names_the_event(&c, &ulid, seq, "which the store does not hold");
}
