//! Words of more than one token (`refresh-token`, `lib.rs`) must match as phrases:
//! their tokens next to each other, in order. The message index keeps no token
//! positions (`detail=none`, a quarter of the size of a positional index), so a
//! search asks it for the events holding every token and checks the phrases of
//! each candidate here, with FTS5's own tokenizer: a one-row positional index in
//! memory (one per thread, reused), so what "a token" is never differs from the
//! message index.

use std::cell::RefCell;

use rusqlite::Connection;

use crate::search_text::TOKENIZER;

thread_local! {
    static SCRATCH: RefCell<Option<Connection>> = const { RefCell::new(None) };
}

fn with_scratch<T>(work: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    SCRATCH.with(|cell| {
        let mut slot = cell.borrow_mut();
        let conn = match slot.take() {
            Some(conn) => conn,
            None => {
                let conn = Connection::open_in_memory()?;
                // External content, so that emptying the index is one command
                // ('delete-all') instead of tokenizing the previous text again.
                conn.execute_batch(&format!(
                    "CREATE TABLE doc (id INTEGER PRIMARY KEY, text TEXT NOT NULL); \
                     CREATE VIRTUAL TABLE one USING fts5(text, content = 'doc', \
                         content_rowid = 'id', tokenize = '{TOKENIZER}'); \
                     CREATE VIRTUAL TABLE one_terms USING fts5vocab(one, 'instance');"
                ))?;
                conn
            }
        };
        let result = work(&conn);
        *slot = Some(conn);
        result
    })
}

fn put(conn: &Connection, text: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO one (one) VALUES ('delete-all')")?
        .execute([])?;
    conn.prepare_cached("INSERT OR REPLACE INTO doc (id, text) VALUES (1, ?1)")?
        .execute([text])?;
    conn.prepare_cached("INSERT INTO one (rowid, text) VALUES (1, ?1)")?
        .execute([text])?;
    Ok(())
}

/// The tokens FTS5 makes of `word` (folded: lower case, no diacritics), in order.
pub(crate) fn tokens(word: &str) -> rusqlite::Result<Vec<String>> {
    with_scratch(|conn| {
        put(conn, word)?;
        conn.prepare_cached("SELECT term FROM one_terms ORDER BY offset")?
            .query_map([], |row| row.get(0))?
            .collect()
    })
}

/// `"a b"`: the tokens as one FTS5 phrase (tokens never hold a quote, but a
/// quote would be doubled).
pub(crate) fn phrase(tokens: &[String]) -> String {
    format!("\"{}\"", tokens.join(" ").replace('"', "\"\""))
}

/// The snippet of `text` for `terms` (an FTS5 query of its tokens: what the
/// message index matched), `None` when `text` lacks one of `phrases`: one
/// tokenization of `text` for both. The snippet is made here, not by the message
/// index: there, `snippet()` of one row first walks the query's whole doclist to
/// reach it (measured: half the CPU of a search for a word in 20,000 events).
pub(crate) fn snippet_if_holds(
    text: &str,
    phrases: &[Vec<String>],
    terms: &str,
) -> rusqlite::Result<Option<String>> {
    with_scratch(|conn| {
        put(conn, text)?;
        if !phrases.is_empty() {
            let all = phrases
                .iter()
                .map(|p| phrase(p))
                .collect::<Vec<_>>()
                .join(" AND ");
            let holds = conn
                .prepare_cached("SELECT count(*) FROM one WHERE one MATCH ?1")?
                .query_row([all.as_str()], |row| row.get::<_, i64>(0))?;
            if holds == 0 {
                return Ok(None);
            }
        }
        let snippet = conn
            .prepare_cached(
                "SELECT snippet(one, 0, '[', ']', '…', 16) FROM one WHERE one MATCH ?1",
            )?
            .query_row([terms], |row| row.get::<_, Option<String>>(0))
            .or_else(|e| match e {
                // A text none of whose tokens the query holds (it cannot come
                // from the index, but a damaged row must not fail the search).
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        Ok(Some(snippet.unwrap_or_default()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_and_fold_as_the_index_does() {
        assert_eq!(tokens("Refresh-Token").unwrap(), ["refresh", "token"]);
        assert_eq!(tokens("CAFÉ").unwrap(), ["cafe"]);
        assert_eq!(tokens("lib.rs").unwrap(), ["lib", "rs"]);
        assert!(tokens("--").unwrap().is_empty());
    }

    #[test]
    fn phrases_need_their_tokens_next_to_each_other_in_order() {
        let refresh_token = [vec!["refresh".to_owned(), "token".to_owned()]];
        let terms = r#""refresh" AND "token""#;
        let snippet = |text| snippet_if_holds(text, &refresh_token, terms).unwrap();
        assert_eq!(
            snippet("rotate the refresh-token daily").as_deref(),
            Some("rotate the [refresh]-[token] daily")
        );
        assert_eq!(snippet("token refresh happens"), None);
        assert_eq!(snippet("refresh the token"), None);
    }
}
