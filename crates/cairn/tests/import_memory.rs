//! Issue 8 item 11: `cairn sessions import` streams its file. The child's peak RSS
//! stays well below the size of a 100 MB session file (before, it held every event
//! and every attachment in memory: about 2.7 times the file).
//!
//! One test in this binary on purpose: Linux counts the spawning process's own peak
//! into a child's (the memory it had before its exec), and a test binary that has run
//! other tests is itself above the bound (see `Outcome::peak_rss_bytes`).

mod sessions_fixtures;

use std::io::Write;

use sessions_fixtures::*;

use cairn_testkit::home::TestHome;

#[test]
fn importing_a_100_mb_file_keeps_peak_memory_well_below_its_size() {
    let home = TestHome::new();
    let c = cairn(&home);
    let project = home.project_key();
    // 1600 events of 64 KB of text each, every one different, so none is shared.
    let path = home.root().join("big.jsonl");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    // No model: the token count then needs no BPE tables, whose tens of MB would
    // hide what the import itself uses.
    let mut head = header("big", &project);
    head.as_object_mut().unwrap().remove("model");
    writeln!(file, "{head}").unwrap();
    let events = 1600;
    for seq in 1..=events {
        let role = if seq % 2 == 1 { "user" } else { "assistant" };
        let mut text = String::with_capacity(70 * 1024);
        let mut i = 0;
        while text.len() < 64 * 1024 {
            text.push_str(&format!("w{} ", (seq * 7919 + i) % 100_003));
            i += 1;
        }
        writeln!(file, "{}", message(seq, role, &text)).unwrap();
    }
    file.into_inner().unwrap().sync_all().unwrap();
    let file_bytes = std::fs::metadata(&path).unwrap().len();
    assert!(file_bytes > 100_000_000, "file is only {file_bytes} bytes");

    let out = c.run([
        "sessions".as_ref(),
        "import".as_ref(),
        path.as_os_str(),
        "--json".as_ref(),
    ]);
    out.success();
    assert_eq!(out.json()["events"], events);
    let peak = out.peak_rss_bytes;
    assert!(
        // Measured: a constant ~20 MB over the ~17 MB of a debug binary at rest
        // (SQLite's page cache, FTS5's 8 MB merge buffer), whatever the file size.
        peak < file_bytes / 2,
        "peak RSS of the import was {} MB for a {} MB file",
        peak / 1_000_000,
        file_bytes / 1_000_000
    );
}
