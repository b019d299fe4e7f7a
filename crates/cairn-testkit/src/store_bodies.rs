//! How a SQLite store file keeps its event bodies, read with plain SQLite and by
//! hand (not through cairn's code or the zstd library), for tests of the store's
//! compression.

use std::path::Path;

/// (the store's dictionaries, or -1 when it has no `dictionaries` table; bodies
/// stored as plain text; bodies in zstd frames that name a dictionary).
pub fn forms(store_file: &Path) -> (i64, i64, i64) {
    let conn = rusqlite::Connection::open(store_file).unwrap();
    let dictionaries = conn
        .query_row("SELECT count(*) FROM dictionaries", [], |row| row.get(0))
        .unwrap_or(-1);
    let mut plain = 0;
    let mut with_dictionary = 0;
    let mut statement = conn.prepare("SELECT body FROM events").unwrap();
    let mut rows = statement.query([]).unwrap();
    while let Some(row) = rows.next().unwrap() {
        match row.get_ref(0).unwrap() {
            rusqlite::types::ValueRef::Text(_) => plain += 1,
            rusqlite::types::ValueRef::Blob(frame) if dictionary_of(frame) != 0 => {
                with_dictionary += 1
            }
            _ => {}
        }
    }
    (dictionaries, plain, with_dictionary)
}

/// The dictionary id in a zstd frame header (0: none), read by hand.
pub fn dictionary_of(frame: &[u8]) -> u32 {
    let descriptor = frame[4];
    let single_segment = descriptor & 0x20 != 0;
    let at = if single_segment { 5 } else { 6 };
    match descriptor & 0x03 {
        0 => 0,
        1 => u32::from(frame[at]),
        2 => u32::from(u16::from_le_bytes([frame[at], frame[at + 1]])),
        _ => u32::from_le_bytes(frame[at..at + 4].try_into().unwrap()),
    }
}
