//! Measures what the SQLite schema achieves on this machine (not the official
//! benchmark harness): durable append latency, import throughput, listing with
//! 10,000 sessions, search over 1,000,000 messages, and resume of a 100 MB session
//! against a 1 MB one.
//!
//! `cargo run --release -p cairn-store-sqlite --example store_figures [DIR]`
//! (DIR defaults to a temp dir; `CAIRN_FIGURES_MESSAGES` overrides 1,000,000.)

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn_core::event::ToolResultContent;
use cairn_core::store::SearchScope;
use cairn_core::{
    Compaction, ContentBlock, Event, Message, NewEvent, NewSession, Payload, Project, Role,
    SessionFilter, SessionName, Store, Timestamp,
};
use cairn_store_sqlite::Synchronous;
use cairn_store_sqlite::open_store;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn percentile(mut samples: Vec<Duration>, p: f64) -> Duration {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// A Zipf-like vocabulary: a few words are everywhere, most are rare.
struct Words {
    words: Vec<String>,
    /// Real text for tool results (`CAIRN_FIGURES_TEXT_DIR`: files under it).
    corpus: Option<String>,
}

fn read_corpus(dir: &Path, out: &mut String) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if out.len() > 50_000_000 {
            return;
        }
        let path = entry.path();
        if path.is_dir() {
            read_corpus(&path, out);
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            out.push_str(&text);
        }
    }
}

impl Words {
    fn new(rng: &mut StdRng) -> Self {
        let words = (0..20_000)
            .map(|_| {
                let len = rng.random_range(3..=10);
                (0..len)
                    .map(|_| (b'a' + rng.random_range(0..26u8)) as char)
                    .collect()
            })
            .collect();
        let corpus = std::env::var_os("CAIRN_FIGURES_TEXT_DIR").map(|dir| {
            let mut text = String::new();
            read_corpus(Path::new(&dir), &mut text);
            text
        });
        Words { words, corpus }
    }

    fn sentence(&self, rng: &mut StdRng, count: usize) -> String {
        let mut out = String::new();
        for _ in 0..count {
            let u: f64 = rng.random();
            let index = ((self.words.len() as f64) * u.powi(3)) as usize;
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&self.words[index.min(self.words.len() - 1)]);
        }
        out
    }
}

fn ts(seq: u64) -> Timestamp {
    Timestamp::from_second(1_780_000_000 + seq as i64).unwrap()
}

/// A history of about `target_bytes` with `compactions` evenly spread; the tail
/// after the last one is about `tail_bytes`.
fn history(
    words: &Words,
    rng: &mut StdRng,
    target_bytes: usize,
    compactions: usize,
    tail_bytes: usize,
) -> Vec<Event> {
    let mut events = Vec::new();
    let mut bytes = 0usize;
    let body_bytes = target_bytes.saturating_sub(tail_bytes);
    let per_compaction = body_bytes / compactions.max(1);
    let mut next_compaction = per_compaction;
    let push = |events: &mut Vec<Event>, payload: Payload| {
        let seq = events.len() as u64 + 1;
        events.push(Event {
            seq,
            ts: ts(seq),
            payload,
        });
    };
    let mut made = 0;
    while bytes < target_bytes {
        let seq = events.len() as u64 + 1;
        let roll: f64 = rng.random();
        let payload = if roll < 0.1 {
            // Tool results up to 200 KB.
            let size = (200_000.0 * rng.random::<f64>().powi(6)) as usize + 100;
            let text = match &words.corpus {
                Some(corpus) if corpus.len() > size => {
                    let mut at = rng.random_range(0..corpus.len() - size);
                    while !corpus.is_char_boundary(at) {
                        at -= 1;
                    }
                    let mut end = at + size;
                    while !corpus.is_char_boundary(end) {
                        end -= 1;
                    }
                    corpus[at..end].to_owned()
                }
                _ => {
                    let mut text = String::with_capacity(size + 16);
                    while text.len() < size {
                        text.push_str(&words.sentence(rng, 12));
                        text.push('\n');
                    }
                    text
                }
            };
            Payload::Message(Message::new(
                Role::Tool,
                vec![ContentBlock::ToolResult {
                    tool_use_id: format!("t{seq}"),
                    content: ToolResultContent::Text(text),
                    is_error: false,
                }],
            ))
        } else {
            let role = if roll < 0.55 {
                Role::User
            } else {
                Role::Assistant
            };
            let n = rng.random_range(10..60);
            Payload::Message(Message::text(role, words.sentence(rng, n)))
        };
        bytes += serde_json::to_string(&cairn_core::event::encode_payload(&payload))
            .unwrap()
            .len();
        push(&mut events, payload);
        if made < compactions && bytes >= next_compaction {
            made += 1;
            next_compaction += per_compaction;
            let last = events.len() as u64 - 2;
            push(
                &mut events,
                Payload::Compaction(Compaction {
                    tokens_before: 50_000,
                    tokens_after: 5_000,
                    ..Compaction::new([1, last], words.sentence(rng, 200))
                }),
            );
        }
    }
    events
}

fn total_bytes(events: &[Event]) -> usize {
    events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap().len() + 1)
        .sum()
}

async fn time_resume(path: &Path, name: &str, runs: usize) -> (Duration, usize, usize) {
    let mut samples = Vec::new();
    let mut events = 0;
    let mut bytes = 0;
    for _ in 0..runs {
        let start = Instant::now();
        // A fresh open each time, as a `cairn sessions context` process would.
        let store = open_store(path, Synchronous::Normal).unwrap();
        let s = store
            .session(&SessionName::parse(name).unwrap())
            .await
            .unwrap();
        let live = store.live_context(s.id, 10).await.unwrap();
        samples.push(start.elapsed());
        events = live.events.len();
        bytes = live
            .events
            .iter()
            .map(|e| serde_json::to_string(e).unwrap().len())
            .sum();
    }
    (median(samples), events, bytes)
}

async fn appends(store: &Arc<dyn Store>, label: &str) {
    let s = store
        .create_session(NewSession::new(
            SessionName::parse(&format!("append-{label}")).unwrap(),
            Project::from_stored("/bench"),
        ))
        .await
        .unwrap();
    let mut samples = Vec::new();
    for i in 0..2000 {
        let event = NewEvent::now(Payload::Message(Message::text(
            Role::User,
            format!("message number {i} with a few words of text"),
        )));
        let start = Instant::now();
        store.append_events(s.id, vec![event]).await.unwrap();
        samples.push(start.elapsed());
    }
    println!(
        "append (synchronous={label}): p50 {}  p90 {}  p99 {}",
        ms(percentile(samples.clone(), 0.5)),
        ms(percentile(samples.clone(), 0.9)),
        ms(percentile(samples, 0.99))
    );
}

#[tokio::main]
async fn main() {
    let keep = std::env::args().nth(1);
    let temp = tempfile::tempdir().unwrap();
    let dir = keep
        .as_deref()
        .map(Path::new)
        .unwrap_or(temp.path())
        .to_path_buf();
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let words = Words::new(&mut rng);
    // `CAIRN_FIGURES_ONLY=append,import,list,search` runs a subset.
    let only = std::env::var("CAIRN_FIGURES_ONLY").unwrap_or_default();
    let wanted = |part: &str| only.is_empty() || only.split(',').any(|p| p == part);

    // ---- append -------------------------------------------------------------
    if wanted("append") {
        let append_path = dir.join("append.db");
        let _ = std::fs::remove_file(&append_path);
        appends(
            &open_store(&append_path, Synchronous::Normal).unwrap(),
            "normal",
        )
        .await;
        appends(
            &open_store(&append_path, Synchronous::Full).unwrap(),
            "full",
        )
        .await;
    }
    if wanted("import") {
        // ---- import and resume ----------------------------------------------------
        let resume_path = dir.join("resume.db");
        let _ = std::fs::remove_file(&resume_path);
        let store = open_store(&resume_path, Synchronous::Normal).unwrap();
        let big = history(&words, &mut rng, 100_000_000, 20, 1_000_000);
        let big_bytes = total_bytes(&big);
        let big_len = big.len();
        let start = Instant::now();
        store
            .import_session(
                NewSession::new(
                    SessionName::parse("big").unwrap(),
                    Project::from_stored("/bench"),
                ),
                big,
            )
            .await
            .unwrap();
        let took = start.elapsed();
        println!(
            "import: {big_len} events, {:.1} MB in {:.2} s = {:.1} MB/s",
            big_bytes as f64 / 1e6,
            took.as_secs_f64(),
            big_bytes as f64 / 1e6 / took.as_secs_f64()
        );
        let even = history(&words, &mut rng, 100_000_000, 20, 0);
        store
            .import_session(
                NewSession::new(
                    SessionName::parse("big-even").unwrap(),
                    Project::from_stored("/bench"),
                ),
                even,
            )
            .await
            .unwrap();
        let small = history(&words, &mut rng, 1_000_000, 0, 1_000_000);
        store
            .import_session(
                NewSession::new(
                    SessionName::parse("small").unwrap(),
                    Project::from_stored("/bench"),
                ),
                small,
            )
            .await
            .unwrap();
        drop(store);
        for name in ["small", "big", "big-even", "small", "big"] {
            let (median, events, bytes) = time_resume(&resume_path, name, 15).await;
            println!(
                "resume {name}: open + live_context median {} ({events} live events, {:.2} MB)",
                ms(median),
                bytes as f64 / 1e6
            );
        }
    }
    // ---- list -----------------------------------------------------------------
    if wanted("list") {
        let list_path = dir.join("list.db");
        let _ = std::fs::remove_file(&list_path);
        let store = open_store(&list_path, Synchronous::Normal).unwrap();
        let start = Instant::now();
        for i in 0..10_000 {
            let s = store
                .create_session(NewSession::new(
                    SessionName::parse(&format!("session-{i}")).unwrap(),
                    Project::from_stored(format!("/projects/p{}", i % 50)),
                ))
                .await
                .unwrap();
            if i % 10 == 0 {
                store
                    .append_events(
                        s.id,
                        vec![NewEvent::now(Payload::Message(Message::text(
                            Role::User,
                            "hello",
                        )))],
                    )
                    .await
                    .unwrap();
            }
        }
        println!(
            "created 10,000 sessions in {:.1} s",
            start.elapsed().as_secs_f64()
        );
        drop(store);
        let mut samples = Vec::new();
        for _ in 0..30 {
            let start = Instant::now();
            let store = open_store(&list_path, Synchronous::Normal).unwrap();
            let page = store
                .list_sessions(&SessionFilter {
                    project: None,
                    limit: 50,
                    offset: 0,
                })
                .await
                .unwrap();
            samples.push(start.elapsed());
            assert_eq!(page.len(), 50);
        }
        println!(
            "list first page of 50 (open + list, 10,000 sessions): median {}",
            ms(median(samples))
        );
    }
    // ---- search ---------------------------------------------------------------
    if !wanted("search") {
        return;
    }
    let messages: usize = std::env::var("CAIRN_FIGURES_MESSAGES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let search_path = dir.join("search.db");
    let _ = std::fs::remove_file(&search_path);
    let store = open_store(&search_path, Synchronous::Normal).unwrap();
    let per_session = 1000;
    let start = Instant::now();
    for s in 0..messages.div_ceil(per_session) {
        let events: Vec<Event> = (0..per_session)
            .map(|i| {
                let seq = i as u64 + 1;
                let n = rng.random_range(8..30);
                Event {
                    seq,
                    ts: ts(seq),
                    payload: Payload::Message(Message::text(
                        if i % 2 == 0 {
                            Role::User
                        } else {
                            Role::Assistant
                        },
                        words.sentence(&mut rng, n),
                    )),
                }
            })
            .collect();
        store
            .import_session(
                NewSession::new(
                    SessionName::parse(&format!("chat-{s}")).unwrap(),
                    Project::from_stored(format!("/projects/p{}", s % 20)),
                ),
                events,
            )
            .await
            .unwrap();
    }
    println!(
        "indexed {messages} messages in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    drop(store);
    let db_size = std::fs::metadata(&search_path)
        .map(|m| m.len())
        .unwrap_or(0);
    println!("search store: {:.0} MB", db_size as f64 / 1e6);
    // Word 0 is in about a third of all messages; later words are rarer.
    for (label, word) in [
        ("very common", words.words[0].clone()),
        ("common", words.words[100].clone()),
        ("rare", words.words[15_000].clone()),
        ("absent", "zzzzzzzzzz".to_owned()),
    ] {
        let mut samples = Vec::new();
        let mut hits = 0;
        for _ in 0..15 {
            let start = Instant::now();
            let store = open_store(&search_path, Synchronous::Normal).unwrap();
            let found = store
                .search(
                    &word,
                    &SearchScope {
                        project: None,
                        limit: 20,
                    },
                )
                .await
                .unwrap();
            samples.push(start.elapsed());
            hits = found.len();
        }
        let mut scoped = Vec::new();
        for _ in 0..15 {
            let start = Instant::now();
            let store = open_store(&search_path, Synchronous::Normal).unwrap();
            store
                .search(
                    &word,
                    &SearchScope {
                        project: Some(Project::from_stored("/projects/p3")),
                        limit: 20,
                    },
                )
                .await
                .unwrap();
            scoped.push(start.elapsed());
        }
        println!(
            "search {label} word {word:?} over {messages} messages: median {} ({hits} hits shown); one project: {}",
            ms(median(samples)),
            ms(median(scoped))
        );
    }
}
