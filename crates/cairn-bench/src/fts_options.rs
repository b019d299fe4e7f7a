//! What FTS5's options cost on a real history (issue 15): the searchable text of
//! every event of a generated session indexed into scratch tables, one per option
//! set, each measured with `dbstat`. Contentless tables, so only the index counts
//! (cairn's `event_fts` is external-content: the text is not stored twice).

use std::path::Path;

use anyhow::{Context as _, Result};
use cairn_core::Event;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

/// One option set and the bytes its index took.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct FtsOption {
    pub name: String,
    pub options: String,
    pub bytes: u64,
}

/// The option sets measured: today's index first.
const VARIANTS: &[(&str, &str, Option<usize>)] = &[
    ("detail=full (today)", "", None),
    ("detail=full, columnsize=0", ", columnsize=0", None),
    ("detail=column", ", detail=column", None),
    (
        "detail=column, columnsize=0",
        ", detail=column, columnsize=0",
        None,
    ),
    (
        "detail=none, columnsize=0",
        ", detail=none, columnsize=0",
        None,
    ),
    ("detail=full, first 32 KB of each event", "", Some(32_000)),
    ("detail=full, first 8 KB of each event", "", Some(8_000)),
];

pub(crate) fn measure(events: &[Event], dir: &Path) -> Result<Vec<FtsOption>> {
    let texts: Vec<String> = events.iter().map(|e| e.payload.searchable_text()).collect();
    let mut out = Vec::new();
    for (i, (name, options, cap)) in VARIANTS.iter().enumerate() {
        let file = dir.join(format!("fts-{i}.db"));
        let conn = Connection::open(&file).context("opening a scratch index")?;
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; \
             CREATE VIRTUAL TABLE x USING fts5(text, scope, content = '', \
             tokenize = 'unicode61 remove_diacritics 2'{options}); \
             INSERT INTO x (x, rank) VALUES ('hashsize', 8388608);"
        ))?;
        let tx = conn.unchecked_transaction()?;
        {
            let mut insert = tx.prepare(
                "INSERT INTO x (rowid, text, scope) VALUES (?1, ?2, 'p0123456789abcdef')",
            )?;
            for (rowid, text) in texts.iter().enumerate() {
                let text = match cap {
                    Some(cap) if text.len() > *cap => cut(text, *cap),
                    _ => text.as_str(),
                };
                insert.execute(rusqlite::params![rowid as i64 + 1, text])?;
            }
        }
        tx.commit()?;
        conn.execute_batch("INSERT INTO x (x) VALUES ('optimize')")?;
        let bytes: i64 = conn.query_row(
            "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE 'x_%'",
            [],
            |row| row.get(0),
        )?;
        drop(conn);
        let _ = std::fs::remove_file(&file);
        eprintln!("  fts {name}: {:.1} MB", bytes as f64 / 1e6);
        out.push(FtsOption {
            name: (*name).to_owned(),
            options: format!("fts5(text, scope, content = ''{options})"),
            bytes: u64::try_from(bytes).unwrap_or(0),
        });
    }
    Ok(out)
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn cut(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
