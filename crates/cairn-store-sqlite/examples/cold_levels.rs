//! Measures what a stronger zstd level gives on a store's payloads and bodies,
//! for the level `cairn store compact` recompresses rows at
//! (`src/payloads.rs`, BENCHMARKS.md, "Store less: `store compact` at a stronger zstd
//! level"):
//!
//! `cargo run --release -p cairn-store-sqlite --example cold_levels -- STORE.db`
//!
//! Reads every payload (long literal) and every event body of the store, as
//! text, and compresses each on its own, as the store does: payloads with the
//! store's payload dictionary, bodies with its body dictionary, at each level
//! (and, for payloads, with long-distance matching or a larger window). Prints
//! the bytes of the frames and the CPU seconds of compressing and decompressing
//! them (this thread's CPU time: the machine is shared).

use std::collections::HashMap;

use rusqlite::Connection;
use rusqlite::types::ValueRef;
use zstd::zstd_safe::CParameter;

mod cpu_time;
use cpu_time::cpu_seconds;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: cold_levels STORE.db");
        std::process::exit(2);
    };
    let conn = Connection::open(path).expect("store opens");
    let dictionaries: HashMap<u32, Vec<u8>> = conn
        .prepare("SELECT id, data FROM dictionaries")
        .expect("dictionaries")
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .expect("dictionaries")
        .collect::<rusqlite::Result<_>>()
        .expect("dictionaries");
    let payload_dictionary: Option<u32> = conn
        .query_row("SELECT max(id) FROM payload_dictionaries", [], |row| {
            row.get(0)
        })
        .expect("payload dictionary");
    let body_dictionary: Option<u32> = dictionaries
        .keys()
        .copied()
        .filter(|id| Some(*id) != payload_dictionary)
        .max();
    let texts = |sql: &str| -> (Vec<Vec<u8>>, usize) {
        let mut statement = conn.prepare(sql).expect("select");
        let mut rows = statement.query([]).expect("select");
        let (mut out, mut stored) = (Vec::new(), 0);
        while let Some(row) = rows.next().expect("row") {
            let value = row.get_ref(0).expect("column");
            let (text, bytes) = match value {
                ValueRef::Text(t) => (t.to_vec(), t.len()),
                ValueRef::Blob(frame) => (decode(frame, &dictionaries), frame.len()),
                _ => continue,
            };
            stored += bytes;
            out.push(text);
        }
        (out, stored)
    };
    let (payloads, payloads_stored) = texts("SELECT data FROM payloads");
    let (bodies, bodies_stored) = texts("SELECT body FROM events");
    let raw = |items: &[Vec<u8>]| items.iter().map(Vec::len).sum::<usize>() as f64 / 1e6;
    println!(
        "payloads: {} rows, {:.2} MB of text, {:.2} MB stored; bodies: {} rows, {:.2} MB of text, {:.2} MB stored",
        payloads.len(),
        raw(&payloads),
        payloads_stored as f64 / 1e6,
        bodies.len(),
        raw(&bodies),
        bodies_stored as f64 / 1e6
    );
    println!("| rows | level | option | MB | vs level 3 | compress CPU s | decompress CPU s |");
    println!("|---|---|---|---|---|---|---|");
    let payload_dict = payload_dictionary.and_then(|id| dictionaries.get(&id));
    if std::env::args().nth(2).as_deref() == Some("--dictionaries") {
        return larger_dictionaries(&payloads, payload_dict);
    }
    let base = measure("payloads", &payloads, payload_dict, 3, Extra::None, None);
    for level in [6, 9, 12, 15, 19] {
        measure(
            "payloads",
            &payloads,
            payload_dict,
            level,
            Extra::None,
            Some(base),
        );
    }
    for level in [9, 19] {
        measure(
            "payloads",
            &payloads,
            payload_dict,
            level,
            Extra::Long,
            Some(base),
        );
        measure(
            "payloads",
            &payloads,
            payload_dict,
            level,
            Extra::Window,
            Some(base),
        );
    }
    measure("payloads", &payloads, None, 19, Extra::None, Some(base));
    // Dictionaries trained now, of other sizes, on the newest 4 MiB of
    // literals (as `store compact` trains its own) or on all of them.
    for (samples_mb, size_kib) in [
        (4, 128),
        (4, 512),
        (32, 128),
        (32, 256),
        (32, 512),
        (32, 1024),
    ] {
        let dict = train(&payloads, samples_mb << 20, size_kib << 10);
        for level in [9, 19] {
            measure(
                "payloads",
                &payloads,
                Some(&dict),
                level,
                Extra::None,
                Some(base),
            );
        }
    }
    let body_dict = body_dictionary.and_then(|id| dictionaries.get(&id));
    let base = measure("bodies", &bodies, body_dict, 3, Extra::None, None);
    for level in [9, 12, 15, 19] {
        measure("bodies", &bodies, body_dict, level, Extra::None, Some(base));
    }
}

/// `--dictionaries`: payload dictionaries of 128 KiB to 1 MiB trained on the
/// newest 4 to 32 MiB of literals, at compact's level and at 19, against the
/// store's at compact's level; and what loading each costs a process (a resume
/// decompressing a payload, an append compressing one at the writers' level).
fn larger_dictionaries(payloads: &[Vec<u8>], stored: Option<&Vec<u8>>) {
    let base = measure("payloads", payloads, stored, 15, Extra::None, None);
    let mut trained = Vec::new();
    for (samples_mb, size_kib) in [(4, 128), (8, 256), (16, 512), (32, 512), (32, 1024)] {
        let dict = train(payloads, samples_mb << 20, size_kib << 10);
        for level in [15, 19] {
            measure(
                "payloads",
                payloads,
                Some(&dict),
                level,
                Extra::None,
                Some(base),
            );
        }
        trained.push(dict);
    }
    let literal = payloads
        .iter()
        .find(|p| p.len() > 4_000 && p.len() < 8_000)
        .expect("a literal of a few KB");
    for dict in &trained {
        const ROUNDS: u32 = 50;
        let frame = zstd::bulk::Compressor::with_dictionary(15, dict)
            .and_then(|mut c| c.compress(literal))
            .expect("compress");
        let start = cpu_seconds();
        for _ in 0..ROUNDS {
            let mut d = zstd::bulk::Decompressor::with_dictionary(dict).expect("dictionary");
            std::hint::black_box(d.decompress(&frame, literal.len()).expect("frame"));
        }
        let decompress_ms = (cpu_seconds() - start) * 1e3 / f64::from(ROUNDS);
        let start = cpu_seconds();
        for _ in 0..ROUNDS {
            let mut c = zstd::bulk::Compressor::with_dictionary(3, dict).expect("dictionary");
            std::hint::black_box(c.compress(literal).expect("compress"));
        }
        let append_ms = (cpu_seconds() - start) * 1e3 / f64::from(ROUNDS);
        println!(
            "{} KiB dictionary: first decompression in a process \
             {decompress_ms:.3} ms, first compression at level 3 {append_ms:.3} ms",
            dict.len() >> 10
        );
    }
}

/// A dictionary of `size` bytes trained on the newest `samples` bytes of `items`.
fn train(items: &[Vec<u8>], samples: usize, size: usize) -> Vec<u8> {
    let mut chosen = Vec::new();
    let mut bytes = 0;
    for item in items.iter().rev() {
        if bytes >= samples {
            break;
        }
        bytes += item.len();
        chosen.push(item.as_slice());
    }
    let start = cpu_seconds();
    let dict = zstd::dict::from_samples(&chosen, size).expect("training");
    println!(
        "(dictionary of {} KiB trained on {:.1} MB: {:.2} s CPU)",
        dict.len() >> 10,
        bytes as f64 / 1e6,
        cpu_seconds() - start
    );
    dict
}

#[derive(Clone, Copy)]
enum Extra {
    None,
    /// Long-distance matching (`--long`).
    Long,
    /// A 16 MiB window whatever the level.
    Window,
}

fn decode(frame: &[u8], dictionaries: &HashMap<u32, Vec<u8>>) -> Vec<u8> {
    let size = zstd::zstd_safe::get_frame_content_size(frame)
        .ok()
        .flatten()
        .expect("frames declare their size") as usize;
    match zstd::zstd_safe::get_dict_id_from_frame(frame) {
        Some(id) => zstd::bulk::Decompressor::with_dictionary(&dictionaries[&id.get()])
            .expect("dictionary")
            .decompress(frame, size)
            .expect("frame"),
        None => zstd::bulk::decompress(frame, size).expect("frame"),
    }
}

fn measure(
    name: &str,
    items: &[Vec<u8>],
    dict: Option<&Vec<u8>>,
    level: i32,
    extra: Extra,
    base: Option<usize>,
) -> usize {
    let mut compressor = match dict {
        Some(dict) => zstd::bulk::Compressor::with_dictionary(level, dict),
        None => zstd::bulk::Compressor::new(level),
    }
    .expect("compressor");
    compressor
        .set_parameter(CParameter::ChecksumFlag(true))
        .expect("checksum");
    let option = match extra {
        Extra::None => "",
        Extra::Long => {
            compressor
                .set_parameter(CParameter::EnableLongDistanceMatching(true))
                .expect("ldm");
            "long distance matching"
        }
        Extra::Window => {
            compressor
                .set_parameter(CParameter::WindowLog(24))
                .expect("window");
            "window 16 MiB"
        }
    };
    let start = cpu_seconds();
    let frames: Vec<Vec<u8>> = items
        .iter()
        .map(|i| compressor.compress(i).expect("compress"))
        .collect();
    let compress_s = cpu_seconds() - start;
    let packed: usize = frames.iter().map(Vec::len).sum();
    let mut decompressor = match dict {
        Some(dict) => zstd::bulk::Decompressor::with_dictionary(dict),
        None => zstd::bulk::Decompressor::new(),
    }
    .expect("decompressor");
    let start = cpu_seconds();
    for (frame, item) in frames.iter().zip(items) {
        let out = decompressor
            .decompress(frame, item.len())
            .expect("decompress");
        assert_eq!(&out, item);
    }
    let decompress_s = cpu_seconds() - start;
    println!(
        "| {name} | {level} | {}{option} | {:.2} | {} | {compress_s:.2} | {decompress_s:.3} |",
        if dict.is_some() {
            "dictionary "
        } else {
            "no dictionary "
        },
        packed as f64 / 1e6,
        base.map_or("".into(), |b| format!(
            "{:+.1} %",
            (packed as f64 / b as f64 - 1.0) * 100.0
        )),
    );
    packed
}
