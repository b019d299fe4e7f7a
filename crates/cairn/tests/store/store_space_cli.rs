//! Space on disk through the real binary: `rm` gives a large session's pages back
//! to the file system (the file shrinks), and `doctor` and `store status` show the
//! store's size by part, as text and as JSON.

use crate::sessions_fixtures;

use cairn_testkit::home::TestHome;
use serde_json::Value;
use sessions_fixtures::*;

/// Text a compressor shrinks only to about half (4 bits of entropy per byte): hex
/// digits of a mixing sequence. The store keeps large bodies zstd-compressed.
fn incompressible(seed: u64, bytes: usize) -> String {
    let mut state = seed;
    let mut out = String::with_capacity(bytes + 16);
    while out.len() < bytes {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        out.push_str(&format!("{:016x} ", z ^ (z >> 31)));
    }
    out
}

/// A session of `messages` messages of 200 KB each.
fn large(name: &str, messages: u64) -> String {
    let events: Vec<Value> = (1..=messages)
        .map(|seq| {
            let role = if seq % 2 == 1 { "user" } else { "assistant" };
            message(seq, role, &incompressible(seq, 200_000))
        })
        .collect();
    jsonl(&header(name, "/work/api"), &events)
}

/// The store file and its WAL, as the file system counts them.
fn on_disk(home: &TestHome) -> u64 {
    let file = home.store_file();
    let wal = file.with_extension("db-wal");
    [file, wal]
        .iter()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum()
}

#[test]
fn rm_of_a_large_session_shrinks_the_store_file() {
    let home = TestHome::new();
    let c = on_sqlite(&home);
    import(
        &c,
        &home,
        "keep.jsonl",
        &simple("keep", "/work/api", &["one", "two"]),
    );
    // 4 MB of text, about 2.2 MB of it in events (and as much again in the
    // index of its unique words, whose deletions FTS5 folds in at later merges).
    import(&c, &home, "big.jsonl", &large("big", 20));
    let before = on_disk(&home);
    assert!(
        before > 4_000_000,
        "the large session is in the file: {before}"
    );

    c.run(["sessions", "rm", "big", "--yes"]).success();
    let after = on_disk(&home);
    assert!(
        after < before - 2_000_000,
        "rm gave the session's bodies back: {before} bytes before, {after} after"
    );
    // What was kept is intact.
    c.run(["sessions", "show", "keep"]).success();
    c.run(["sessions", "search", "two", "--all"])
        .success()
        .stdout_has(&["keep"]);
}

#[test]
fn doctor_and_store_status_show_the_size_by_part() {
    let home = TestHome::new();
    let c = on_sqlite(&home);
    import(&c, &home, "big.jsonl", &large("big", 5));

    let doctor = c.run(["doctor", "--offline", "--json"]).success().json();
    let size = doctor["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["area"] == "size")
        .unwrap_or_else(|| panic!("no size check: {doctor}"))
        .clone();
    assert_eq!(size["status"], "ok");
    let events = size["space"]["events"].as_u64().unwrap();
    // 1 MB of hex text, stored compressed to about half.
    assert!(events >= 450_000, "{size}");
    assert!(
        size["space"]["search_index"].as_u64().unwrap() > 0,
        "{size}"
    );
    assert!(
        size["space"]["total_bytes"].as_u64().unwrap() >= events,
        "{size}"
    );
    c.run(["doctor", "--offline"]).success().stdout_has(&[
        "size",
        "on disk: events",
        "full-text index",
        "free",
    ]);

    let status = c.run(["store", "status", "--json"]).success().json();
    assert!(
        status["space"]["events"].as_u64().unwrap() >= 450_000,
        "{status}"
    );
    assert!(
        status["space"]["objects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["name"] == "events" && o["part"] == "events"),
        "{status}"
    );
    c.run(["store", "status"])
        .success()
        .stdout_has(&["by part:", "events", "attachments"]);
}
