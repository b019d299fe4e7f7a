//! Repeats open + live_context of one session of an existing store, for profiling:
//! `cargo run --release -p cairn-store-sqlite --example resume_profile STORE NAME [RUNS]`.

use std::path::Path;
use std::time::Instant;

use cairn_core::SessionName;
use cairn_store_sqlite::Synchronous;
use cairn_store_sqlite::open_store;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(name)) = (args.next(), args.next()) else {
        eprintln!("usage: resume_profile STORE NAME [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(100);
    let name = SessionName::parse(&name).unwrap();
    let mut samples = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let store = open_store(Path::new(&path), Synchronous::Normal).unwrap();
        let opened = start.elapsed();
        let session = store.session(&name).await.unwrap();
        let live = store.live_context(session.id, 10).await.unwrap();
        samples.push((start.elapsed(), opened, live.events.len()));
    }
    samples.sort();
    let (total, opened, events) = samples[samples.len() / 2];
    println!("median {total:?} (open {opened:?}), {events} live events");
}
