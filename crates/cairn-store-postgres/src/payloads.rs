//! The large literal of an event body (`cairn_core::body_codec`: a tool output,
//! a long message) is kept in `payloads`, zstd-compressed here, once per distinct
//! text (keyed by its sha256) for the whole database: the same file read ten
//! times, a fork's parent and an import of the same history share one row. The
//! event row keeps the rest of the body as TEXT (TOAST compresses it when long),
//! with `""` at `events.payload_at` and `events.payload` naming the row.
//!
//! `payloads.data` is a zstd frame, or the literal itself when zstd does not
//! shrink it; the two cannot be confused: a literal starts with `"`, a frame
//! with its magic number.
//!
//! Several machines write at once, so a payload is never deleted under a new
//! reference: a writer holds a `FOR KEY SHARE` lock on the row it refers to from
//! the moment it finds it until it commits (the foreign key holds one too, from
//! the event's insert), and a deletion locks the rows it frees `FOR UPDATE SKIP
//! LOCKED`, so it skips a row someone is about to reference (a later `gc` takes
//! it) and a writer that comes after waits for it, then stores the literal anew.

use cairn_core::body_codec;
use deadpool_postgres::Transaction;

use crate::fail::{R, unreadable};
use crate::rows::get;

/// What `events` keeps of one body.
pub(crate) struct StoredBody {
    pub body: String,
    pub payload: Option<i64>,
    pub payload_at: Option<i64>,
}

/// Splits `json`, storing its large literal in `payloads` (once per distinct
/// literal).
pub(crate) async fn store(tx: &Transaction<'_>, json: String) -> R<StoredBody> {
    let split = body_codec::split(json);
    let Some((literal, at)) = split.literal else {
        return Ok(StoredBody {
            body: split.skeleton,
            payload: None,
            payload_at: None,
        });
    };
    Ok(StoredBody {
        body: split.skeleton,
        payload: Some(put(tx, &literal).await?),
        payload_at: Some(i64::try_from(at).map_err(|_| unreadable("payload offset"))?),
    })
}

/// How often [`put`] looks again when the row it found was deleted meanwhile
/// (each miss means another transaction deleted it and committed).
const PUT_ATTEMPTS: usize = 4;

/// The id of the payload row holding `literal`, locked against deletion until
/// the transaction ends; inserted when new.
pub(crate) async fn put(tx: &Transaction<'_>, literal: &str) -> R<i64> {
    let sha256 = body_codec::sha256(literal);
    let find = tx
        .prepare_cached("SELECT id FROM payloads WHERE sha256 = $1 FOR KEY SHARE")
        .await?;
    let insert = tx
        .prepare_cached(
            "INSERT INTO payloads (sha256, size, data) VALUES ($1, $2, $3) \
             ON CONFLICT (sha256) DO NOTHING RETURNING id",
        )
        .await?;
    let mut data = None;
    for _ in 0..PUT_ATTEMPTS {
        if let Some(row) = tx.query_opt(&find, &[&sha256.as_slice()]).await? {
            return get(&row, 0);
        }
        let data = data.get_or_insert_with(|| encode(literal));
        let size = literal.len() as i64;
        if let Some(row) = tx
            .query_opt(&insert, &[&sha256.as_slice(), &size, &data.as_slice()])
            .await?
        {
            return get(&row, 0);
        }
    }
    Err(cairn_core::Error::Storage(format!(
        "a payload was deleted {PUT_ATTEMPTS} times while this write referred to it; retry"
    ))
    .into())
}

/// `literal` as `payloads.data` keeps it.
fn encode(literal: &str) -> Vec<u8> {
    body_codec::compress(literal.as_bytes()).unwrap_or_else(|| literal.as_bytes().to_vec())
}

/// `payloads.data` back to its literal.
fn decode(data: &[u8]) -> Result<String, String> {
    let bytes = if data.first() == Some(&b'"') {
        data.to_vec()
    } else {
        body_codec::decompress(data)?
    };
    String::from_utf8(bytes).map_err(|e| format!("decompressed payload is not UTF-8: {e}"))
}

/// The JSON body of a row: `body` with the payload `data` spliced back at
/// `payload_at` (both absent for a row that has none).
pub(crate) fn restore(
    body: String,
    payload_at: Option<i64>,
    data: Option<&[u8]>,
) -> Result<String, String> {
    let Some(at) = payload_at else {
        return Ok(body);
    };
    let data = data.ok_or("its payload row is missing")?;
    let at = u64::try_from(at).map_err(|_| format!("payload offset {at} is negative"))?;
    body_codec::splice(&body, at, &decode(data)?)
}

/// The distinct payloads the events of session `key` refer to.
pub(crate) async fn of_session(tx: &Transaction<'_>, key: i64) -> R<Vec<i64>> {
    let statement = tx
        .prepare_cached(
            "SELECT DISTINCT payload FROM events WHERE session = $1 AND payload IS NOT NULL",
        )
        .await?;
    tx.query(&statement, &[&key])
        .await?
        .iter()
        .map(|row| get(row, 0))
        .collect()
}

/// Deletes the payloads of `ids` that no event refers to any more, skipping
/// those another transaction is referring to right now (see the module's note).
pub(crate) async fn release(tx: &Transaction<'_>, ids: &[i64]) -> R<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let lock = tx
        .prepare_cached(
            "SELECT id FROM payloads WHERE id = ANY($1) ORDER BY id FOR UPDATE SKIP LOCKED",
        )
        .await?;
    let locked: Vec<i64> = tx
        .query(&lock, &[&ids])
        .await?
        .iter()
        .map(|row| get(row, 0))
        .collect::<R<_>>()?;
    // A new statement, a new snapshot: references committed before the lock count.
    let delete = tx
        .prepare_cached(
            "DELETE FROM payloads p WHERE p.id = ANY($1) \
             AND NOT EXISTS (SELECT 1 FROM events e WHERE e.payload = p.id)",
        )
        .await?;
    Ok(tx.execute(&delete, &[&locked]).await?)
}

/// Deletes every payload no event refers to (for `gc`); how many.
pub(crate) async fn sweep(tx: &Transaction<'_>) -> R<u64> {
    let unreferenced: Vec<i64> = tx
        .query(
            "SELECT p.id FROM payloads p \
             WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.payload = p.id)",
            &[],
        )
        .await?
        .iter()
        .map(|row| get(row, 0))
        .collect::<R<_>>()?;
    release(tx, &unreferenced).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_or_missing_payload_is_an_error() {
        let long = format!("\"{}\"", "a".repeat(2000));
        let frame = encode(&long);
        assert_ne!(frame.first(), Some(&b'"'));
        assert_eq!(decode(&frame).unwrap(), long);
        assert_eq!(decode(long.as_bytes()).unwrap(), long);
        assert!(decode(b"garbage").unwrap_err().contains("damaged"));
        assert!(decode(&frame[..frame.len() - 3]).is_err());
        assert!(restore("{\"a\":\"\"}".into(), Some(5), None).is_err());
        assert_eq!(
            restore("{\"a\":\"\"}".into(), Some(5), Some(long.as_bytes())).unwrap(),
            format!("{{\"a\":{long}}}")
        );
    }
}
