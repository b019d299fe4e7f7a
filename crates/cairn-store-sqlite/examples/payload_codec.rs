//! Measures zstd on event payloads, for the choice of level and threshold in
//! `src/payloads.rs` (BENCHMARKS.md, "payload compression"):
//!
//! `cargo run --release -p cairn-store-sqlite --example payload_codec -- LITERALS SMALL [DICT]`
//!
//! LITERALS: one JSON string literal per line (tool outputs: slices of real source
//! files, as they sit in an event body); SMALL: one small JSON message body per
//! line; DICT: a zstd dictionary (`zstd --train`) tried on the small bodies.
//! Every item is compressed on its own, as the store does.

mod cpu_time;
use cpu_time::cpu_seconds;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(literals), Some(small)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: payload_codec LITERALS SMALL [DICT]");
        std::process::exit(2);
    };
    let read = |path: &str| std::fs::read_to_string(path).expect("readable corpus");
    let literals = read(literals);
    let small = read(small);
    let dict = args
        .get(3)
        .map(|path| std::fs::read(path).expect("readable dictionary"));
    let literals: Vec<&str> = literals.lines().collect();
    let small: Vec<&str> = small.lines().collect();
    println!("| corpus | level | dict | ratio | compress MB/s (CPU) | decompress MB/s (CPU) |");
    println!("|---|---|---|---|---|---|");
    for level in [1, 3, 6, 9] {
        measure("tool outputs", &literals, level, None);
    }
    for level in [1, 3, 9] {
        measure("small messages", &small, level, None);
        if let Some(dict) = &dict {
            measure("small messages", &small, level, Some(dict));
        }
    }
}

fn measure(name: &str, items: &[&str], level: i32, dict: Option<&[u8]>) {
    let mut compressor = match dict {
        Some(dict) => zstd::bulk::Compressor::with_dictionary(level, dict),
        None => zstd::bulk::Compressor::new(level),
    }
    .expect("compressor");
    let mut decompressor = match dict {
        Some(dict) => zstd::bulk::Decompressor::with_dictionary(dict),
        None => zstd::bulk::Decompressor::new(),
    }
    .expect("decompressor");
    let raw: usize = items.iter().map(|i| i.len()).sum();
    let start = cpu_seconds();
    let frames: Vec<Vec<u8>> = items
        .iter()
        .map(|i| compressor.compress(i.as_bytes()).expect("compress"))
        .collect();
    let compress_s = cpu_seconds() - start;
    let packed: usize = frames.iter().map(Vec::len).sum();
    let start = cpu_seconds();
    for (frame, item) in frames.iter().zip(items) {
        let out = decompressor
            .decompress(frame, item.len())
            .expect("decompress");
        assert_eq!(out.len(), item.len());
    }
    let decompress_s = cpu_seconds() - start;
    let mb = raw as f64 / 1e6;
    println!(
        "| {name} ({} items, {:.1} MB) | {level} | {} | {:.2} | {:.0} | {:.0} |",
        items.len(),
        mb,
        if dict.is_some() { "yes" } else { "no" },
        raw as f64 / packed as f64,
        mb / compress_s,
        mb / decompress_s
    );
}
