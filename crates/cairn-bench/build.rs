//! Fingerprints the store's source so that cached benchmark datasets are rebuilt
//! when the store (its schema, indexes or import path) changes: a dataset written by
//! an older store would otherwise be migrated inside a timed run, or measure a layout
//! the current store no longer writes.

use std::fs;
use std::path::{Path, PathBuf};

const STORE_SOURCES: &str = "../cairn-store-sqlite/src";

fn main() {
    println!("cargo:rerun-if-changed={STORE_SOURCES}");
    let mut files = Vec::new();
    collect(Path::new(STORE_SOURCES), &mut files);
    files.sort();
    // FNV-1a: stable across Rust versions, unlike std's DefaultHasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in &files {
        let relative = file.to_string_lossy();
        let contents = fs::read(file).unwrap_or_default();
        for byte in relative.as_bytes().iter().chain(&contents) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    println!("cargo:rustc-env=CAIRN_BENCH_STORE_FINGERPRINT={hash:016x}");
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}
