//! `cairn store compact` through the real binary: a store whose event bodies were
//! written the way cairn wrote them before payloads were compressed and stored once
//! (plain JSON text in `events.body`) exports the same before and after the
//! command, ends up smaller, stays searchable, and a second run has nothing to do.

use crate::sessions_fixtures;

use std::io::Read;

use cairn_testkit::cli::Cairn;
use cairn_testkit::home::TestHome;
use rusqlite::types::ValueRef;
use serde_json::Value;
use sessions_fixtures::*;

fn export(c: &Cairn, name: &str) -> String {
    let out = c.run(["sessions", "export", name]);
    out.success();
    out.stdout.clone()
}

/// A tool output made of real source code (this repository's), varied per `i`.
fn source_output(i: usize) -> String {
    format!(
        "// read {i}\n{}{}",
        include_str!("../../src/commands/store.rs"),
        include_str!("../../src/progress.rs")
    )
}

/// A column's JSON text: TEXT as it is, a BLOB as the zstd frame it holds.
fn text_of(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Text(bytes) => String::from_utf8(bytes.to_vec()).unwrap(),
        ValueRef::Blob(frame) => {
            let mut out = String::new();
            ruzstd::decoding::StreamingDecoder::new(frame)
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            out
        }
        other => panic!("unexpected column {other:?}"),
    }
}

/// Rewrites every event body the way cairn stored it before payloads existed:
/// the whole JSON as TEXT, no payload row.
fn store_bodies_the_old_way(home: &TestHome) -> usize {
    let conn = rusqlite::Connection::open(home.store_file()).unwrap();
    let rows: Vec<(i64, String)> = {
        let mut statement = conn
            .prepare(
                "SELECT e.id, e.body, e.payload_at, p.data FROM events e \
                 LEFT JOIN payloads p ON p.id = e.payload \
                 WHERE e.payload IS NOT NULL OR typeof(e.body) = 'blob'",
            )
            .unwrap();
        let mut rows = statement.query([]).unwrap();
        let mut out = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            let mut body = text_of(row.get_ref(1).unwrap());
            if let Some(at) = row.get::<_, Option<usize>>(2).unwrap() {
                let literal = text_of(row.get_ref(3).unwrap());
                body.replace_range(at..at + 2, &literal);
            }
            out.push((row.get(0).unwrap(), body));
        }
        out
    };
    for (id, body) in &rows {
        conn.execute(
            "UPDATE events SET body = ?1, payload = NULL, payload_at = NULL WHERE id = ?2",
            rusqlite::params![body, id],
        )
        .unwrap();
    }
    conn.execute("DELETE FROM payloads", []).unwrap();
    // Stores made before incremental vacuum keep freed pages in the file.
    conn.execute_batch("PRAGMA auto_vacuum = NONE; VACUUM;")
        .unwrap();
    rows.len()
}

fn auto_vacuum(home: &TestHome) -> i64 {
    let conn = rusqlite::Connection::open(home.store_file()).unwrap();
    conn.query_row("PRAGMA auto_vacuum", [], |row| row.get(0))
        .unwrap()
}

/// (events stored the old way, payload rows).
fn forms(home: &TestHome) -> (i64, i64) {
    let conn = rusqlite::Connection::open(home.store_file()).unwrap();
    conn.query_row(
        "SELECT (SELECT count(*) FROM events WHERE typeof(body) = 'text' AND payload IS NULL \
           AND length(CAST(body AS BLOB)) >= 1024), (SELECT count(*) FROM payloads)",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .unwrap()
}

fn compact(c: &Cairn) -> Value {
    c.run(["store", "compact", "--json"]).success().json()
}

#[test]
fn an_old_store_exports_the_same_after_compact_and_a_second_run_does_nothing() {
    let home = TestHome::new();
    let c = on_sqlite(&home);
    import(&c, &home, "rich.jsonl", &rich("rich-one", "/work/api"));
    // The same file read three times, and one read of another version of it.
    let outputs: Vec<String> = [0, 0, 0, 1].map(source_output).to_vec();
    let texts: Vec<&str> = outputs.iter().map(String::as_str).collect();
    import(&c, &home, "big.jsonl", &simple("big", "/work/api", &texts));
    let before = [export(&c, "rich-one"), export(&c, "big")];

    let (_, payloads_written) = forms(&home);
    // The big session's two distinct outputs, and whatever the rich one needed.
    assert!(payloads_written >= 2, "{payloads_written}");
    let old = store_bodies_the_old_way(&home) as i64;
    assert!(old >= 4, "{old}");
    assert_eq!(
        forms(&home),
        (old, 0),
        "the store is as an older cairn left it"
    );
    assert_eq!([export(&c, "rich-one"), export(&c, "big")], before);

    assert_eq!(auto_vacuum(&home), 0, "NONE, as older stores were made");
    let file_bytes = || std::fs::metadata(home.store_file()).unwrap().len();
    let size_before = file_bytes();
    let first = compact(&c);
    assert_eq!(first["sessions"], 2, "{first:#}");
    // The file is rewritten: the converted rows' pages come back, and later
    // deletions give theirs back too (INCREMENTAL). What it reports is what the
    // file lost, not also the WAL the compaction grew on the way.
    let given_back = first["bytes_given_back"].as_u64().unwrap();
    assert!(given_back > 0, "{first:#}");
    assert_eq!(given_back, size_before - file_bytes(), "{first:#}");
    assert_eq!(auto_vacuum(&home), 2, "INCREMENTAL after compact");
    assert_eq!(first["events_rewritten"], old, "{first:#}");
    assert_eq!(first["interrupted"], false, "{first:#}");
    assert_eq!(
        forms(&home),
        (0, payloads_written),
        "stored as new writes are: identical outputs once"
    );
    assert_eq!([export(&c, "rich-one"), export(&c, "big")], before);

    // Search still reads the text inside the compacted bodies.
    let hits = c
        .run(["sessions", "search", "copy_store", "--json"])
        .success()
        .json();
    assert_eq!(hits.as_array().map(Vec::len), Some(4), "{hits:#}");

    let again = compact(&c);
    assert_eq!(again["events_rewritten"], 0, "{again:#}");
    assert_eq!([export(&c, "rich-one"), export(&c, "big")], before);
    // Removing the session frees its payloads.
    c.run(["sessions", "rm", "big", "--yes"]).success();
    assert_eq!(forms(&home), (0, payloads_written - 2));
}
