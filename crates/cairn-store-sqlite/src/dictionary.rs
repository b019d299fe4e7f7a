//! A zstd dictionary trained on the store's own event bodies, for the small ones:
//! the JSON keys, roles, types and usage fields that every body repeats are most
//! of a short body, and a frame on its own cannot learn them (BENCHMARKS.md,
//! "Store less").
//!
//! - Trained once the store holds [`TRAIN_AT`] events, from its newest plain
//!   bodies, which are rewritten with it in the same transaction (each gives back
//!   the same text, so the full-text index is unchanged). `cairn store compact`
//!   converts the older ones.
//! - Kept in `dictionaries`, keyed by its zstd dictionary id, which every frame
//!   made with it carries in its header: a body names its dictionary and no
//!   column can disagree. Never deleted: a store has one, of [`SIZE`] at most.
//! - Cached per process and store file. Before a frame naming it is written the
//!   row is checked to be there, so a training whose transaction rolled back
//!   (the cache keeps it) puts it back instead of leaving frames without it.
//!
//! Payloads (the long literals, `crate::payloads`) get a dictionary of their own
//! (listed in `payload_dictionaries`, migration 15), larger and trained on their text: the
//! words and code idioms that many tool outputs and long messages share
//! (BENCHMARKS.md, "Store less: payloads with a dictionary of their own"). It
//! is trained by `cairn store compact`, on the newest stored literals, once the
//! store holds [`PAYLOAD_SAMPLES_MIN`] bytes of them, and again, larger, each
//! time they have grown enough for one twice the size (up to [`PAYLOAD_SIZE`]);
//! imports and appends use the newest once it exists (an import training it
//! cost too much: `crate::prepared`).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use rusqlite::{Connection, OptionalExtension, params};

use crate::fail::R;

/// Events the store must hold before a dictionary is trained: enough bodies for
/// one that pays (zstd wants about 100× its size of samples; fewer still help).
pub(crate) const TRAIN_AT: i64 = 2_000;
/// The newest plain bodies trained on (and rewritten with it).
const SAMPLES: i64 = 4_000;
/// Largest dictionary trained (BENCHMARKS.md: 32 KiB gives most of what 110 KiB
/// does on these bodies).
const SIZE: usize = 32 * 1024;
/// Writes between two looks at the store for a dictionary while it has none (a
/// look is two indexed reads).
const CHECK_EVERY: u32 = 256;

/// Fewest bytes of literal text a payload dictionary is trained on (a store
/// holding fewer has none).
const PAYLOAD_SAMPLES_MIN: usize = 4 << 20;
/// Most bytes of literal text a payload dictionary is trained on, the newest:
/// enough for the largest dictionary, and what `cairn store compact` holds in
/// memory to train it.
const PAYLOAD_SAMPLES_MAX: usize = 32 << 20;
/// Bytes of samples per byte of payload dictionary (zstd wants tens to a hundred).
const SAMPLES_PER_DICTIONARY_BYTE: usize = 32;
/// Largest payload dictionary (BENCHMARKS.md, "Store less: a larger payload
/// dictionary": trained on 32 MiB of them, 512 KiB at compact's level saves 1.4 MB
/// more than 128 KiB on the 100 MB session's payloads, less its own 0.4 MB; 1 MiB
/// adds little more).
const PAYLOAD_SIZE: usize = 512 * 1024;

/// A dictionary's bytes as stored (the zstd dictionary format).
pub(crate) type Raw = Arc<[u8]>;

/// What a dictionary is for (a payload dictionary's id is listed in
/// `payload_dictionaries`).
#[derive(Clone, Copy, PartialEq)]
enum Purpose {
    Bodies,
    Payloads,
}

#[derive(Default)]
struct Known {
    by_id: HashMap<u32, Raw>,
    /// The one new bodies are compressed with.
    current: Option<u32>,
    /// The one new payloads are compressed with.
    payloads: Option<u32>,
    /// Writes left before the store is looked at again while `current` is none.
    until_check: u32,
}

/// Per store file (its path).
static KNOWN: LazyLock<Mutex<HashMap<String, Known>>> = LazyLock::new(Mutex::default);

fn known() -> std::sync::MutexGuard<'static, HashMap<String, Known>> {
    KNOWN.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The cache key of `conn`'s store; none for an in-memory database, which
/// never gets a dictionary.
fn file_of(conn: &Connection) -> Option<&str> {
    conn.path().filter(|path| !path.is_empty())
}

/// The dictionary new bodies are compressed with, trained first when the store
/// has grown enough and holds none (the bodies it is trained on are rewritten
/// with it); `None` while it has none.
pub(crate) fn for_writing(conn: &Connection) -> R<Option<(u32, Raw)>> {
    current(conn, Training::RewriteSamples)
}

/// The same for `cairn store compact`, which rewrites every session's bodies
/// itself (and counts them): looks at the store now, and trains without
/// rewriting.
pub(crate) fn for_compact(conn: &Connection) -> R<Option<(u32, Raw)>> {
    current(conn, Training::Only)
}

#[derive(Clone, Copy, PartialEq)]
enum Training {
    RewriteSamples,
    Only,
}

fn current(conn: &Connection, training: Training) -> R<Option<(u32, Raw)>> {
    let Some(file) = file_of(conn) else {
        return Ok(None);
    };
    let cached = {
        let mut known = known();
        if !known.contains_key(file) {
            known.insert(file.to_owned(), Known::default());
        }
        let Some(entry) = known.get_mut(file) else {
            return Ok(None);
        };
        match entry.current {
            Some(id) => entry.by_id.get(&id).map(|raw| (id, raw.clone())),
            None if entry.until_check > 0 && training == Training::RewriteSamples => {
                entry.until_check -= 1;
                return Ok(None);
            }
            None => {
                entry.until_check = CHECK_EVERY;
                None
            }
        }
    };
    if let Some((id, raw)) = cached {
        keep_stored(conn, id, &raw, Purpose::Bodies)?;
        return Ok(Some((id, raw)));
    }
    let found = match newest(conn, Purpose::Bodies)? {
        Some(found) => Some(found),
        None => train(conn, training)?,
    };
    if let Some((id, raw)) = &found {
        let mut known = known();
        let entry = known.entry(file.to_owned()).or_default();
        entry.by_id.insert(*id, raw.clone());
        entry.current = Some(*id);
    }
    Ok(found)
}

/// The store file whose dictionaries [`known_for_bodies`] looks up, for a
/// thread without a connection; none for an in-memory database.
pub(crate) fn store_file(conn: &Connection) -> Option<String> {
    file_of(conn).map(str::to_owned)
}

/// The body dictionary this process already uses for the store `file`, if any:
/// an import's preparing thread compresses bodies with it (the writer trains
/// it and checks it is stored, [`for_writing`]).
pub(crate) fn known_for_bodies(file: &str) -> Option<(u32, Raw)> {
    let known = known();
    let entry = known.get(file)?;
    let id = entry.current?;
    entry.by_id.get(&id).map(|raw| (id, raw.clone()))
}

/// The dictionary `id` a stored frame names.
pub(crate) fn for_reading(conn: &Connection, id: u32) -> Result<Raw, String> {
    let file = file_of(conn);
    if let Some(file) = file
        && let Some(raw) = known().get(file).and_then(|entry| entry.by_id.get(&id))
    {
        return Ok(raw.clone());
    }
    let raw: Raw = conn
        .prepare_cached("SELECT data FROM dictionaries WHERE id = ?1")
        .and_then(|mut statement| {
            statement
                .query_row([id], |row| row.get::<_, Vec<u8>>(0))
                .optional()
        })
        .map_err(|e| format!("cannot read zstd dictionary {id}: {e}"))?
        .ok_or_else(|| format!("it names zstd dictionary {id}, which the store does not hold"))?
        .into();
    if let Some(file) = file {
        known()
            .entry(file.to_owned())
            .or_default()
            .by_id
            .insert(id, raw.clone());
    }
    Ok(raw)
}

/// Puts the dictionary back if the transaction that stored it rolled back.
fn keep_stored(conn: &Connection, id: u32, raw: &Raw, purpose: Purpose) -> R<()> {
    let stored = conn
        .prepare_cached("SELECT 1 FROM dictionaries WHERE id = ?1")?
        .query_row([id], |_| Ok(()))
        .optional()?
        .is_some();
    if !stored {
        conn.prepare_cached("INSERT INTO dictionaries (id, data) VALUES (?1, ?2)")?
            .execute(params![id, &raw[..]])?;
        if purpose == Purpose::Payloads {
            conn.prepare_cached("INSERT OR IGNORE INTO payload_dictionaries (id) VALUES (?1)")?
                .execute([id])?;
        }
    }
    Ok(())
}

/// The newest dictionary of the store for `purpose` (another process may have
/// trained one).
fn newest(conn: &Connection, purpose: Purpose) -> R<Option<(u32, Raw)>> {
    let sql = match purpose {
        Purpose::Bodies => {
            "SELECT id, data FROM dictionaries \
             WHERE id NOT IN (SELECT id FROM payload_dictionaries) ORDER BY rowid DESC LIMIT 1"
        }
        // The rowid is the id (random), not the order of training: a payload
        // dictionary is trained again only larger, so the largest is the newest.
        Purpose::Payloads => {
            "SELECT id, data FROM dictionaries \
             WHERE id IN (SELECT id FROM payload_dictionaries) \
             ORDER BY length(data) DESC, rowid DESC LIMIT 1"
        }
    };
    Ok(conn
        .prepare_cached(sql)?
        .query_row([], |row| {
            Ok((row.get::<_, u32>(0)?, Raw::from(row.get::<_, Vec<u8>>(1)?)))
        })
        .optional()?)
}

/// The store's payload dictionary, if it has one (checked to be stored, as a
/// body dictionary is before use).
pub(crate) fn for_payloads(conn: &Connection) -> R<Option<(u32, Raw)>> {
    let Some(file) = file_of(conn) else {
        return Ok(None);
    };
    let cached = known().get(file).and_then(|entry| {
        let id = entry.payloads?;
        Some((id, entry.by_id.get(&id)?.clone()))
    });
    if let Some((id, raw)) = cached {
        keep_stored(conn, id, &raw, Purpose::Payloads)?;
        return Ok(Some((id, raw)));
    }
    let found = newest(conn, Purpose::Payloads)?;
    if let Some((id, raw)) = &found {
        remember_for_payloads(file, *id, raw);
    }
    Ok(found)
}

fn remember_for_payloads(file: &str, id: u32, raw: &Raw) {
    let mut known = known();
    let entry = known.entry(file.to_owned()).or_default();
    entry.by_id.insert(id, raw.clone());
    entry.payloads = Some(id);
}

/// Checks the payload dictionary an import used is still stored (puts it back
/// otherwise) and makes it the store's.
pub(crate) fn keep_for_payloads(conn: &Connection, id: u32, raw: &Raw) -> R<()> {
    keep_stored(conn, id, raw, Purpose::Payloads)?;
    if let Some(file) = file_of(conn) {
        remember_for_payloads(file, id, raw);
    }
    Ok(())
}

/// A payload dictionary of `size` bytes at most trained on `samples` (literal
/// texts); `None` when zstd finds them too few or too alike.
fn train_for_payloads(samples: &[String], size: usize) -> Option<(u32, Raw)> {
    let started = std::time::Instant::now();
    let trained = zstd::dict::from_samples(samples, size).ok()?;
    let id = zstd::zstd_safe::get_dict_id_from_dict(&trained)?;
    tracing::debug!(
        "trained payload dictionary {id} ({} bytes) on {} literals in {:?}",
        trained.len(),
        samples.len(),
        started.elapsed()
    );
    Some((id.get(), Raw::from(trained)))
}

/// The size of payload dictionary `literal_bytes` of stored literal text pay
/// for: none under [`PAYLOAD_SAMPLES_MIN`], then growing with the samples up to
/// [`PAYLOAD_SIZE`].
fn payload_dictionary_size(literal_bytes: usize) -> Option<usize> {
    (literal_bytes >= PAYLOAD_SAMPLES_MIN).then(|| {
        (literal_bytes.min(PAYLOAD_SAMPLES_MAX) / SAMPLES_PER_DICTIONARY_BYTE).min(PAYLOAD_SIZE)
    })
}

/// The payload dictionary `cairn store compact` converts payloads with: the
/// store's; or, when it has none or the store has grown enough for one at least
/// twice its size, one trained now on its newest payloads (and stored). A new
/// one clears every payload's `zstd_level`, so that compact converts them all;
/// the frames made with the one before still name it, and it stays stored.
pub(crate) fn for_payloads_compact(conn: &Connection) -> R<Option<(u32, Raw)>> {
    let current = for_payloads(conn)?;
    let current_size = current.as_ref().map_or(0, |(_, raw)| raw.len());
    if current_size >= PAYLOAD_SIZE {
        return Ok(current);
    }
    let literal_bytes: i64 = conn
        .prepare_cached("SELECT coalesce(sum(size), 0) FROM payloads")?
        .query_row([], |row| row.get(0))?;
    let Some(size) = payload_dictionary_size(usize::try_from(literal_bytes).unwrap_or(0)) else {
        return Ok(current);
    };
    if current.is_some() && size < 2 * current_size {
        return Ok(current);
    }
    let mut samples = Vec::new();
    let mut bytes = 0;
    {
        let mut select = conn.prepare_cached("SELECT data FROM payloads ORDER BY id DESC")?;
        let mut rows = select.query([])?;
        while bytes < PAYLOAD_SAMPLES_MAX
            && let Some(row) = rows.next()?
        {
            let text = crate::payloads::text_of(conn, row.get_ref(0)?)
                .map_err(|e| crate::fail::unreadable(format!("a stored payload: {e}")))?;
            bytes += text.len();
            samples.push(text);
        }
    }
    // Kept only when larger than the store's: the largest is the one used.
    let Some((id, raw)) =
        train_for_payloads(&samples, size).filter(|(_, raw)| raw.len() > current_size)
    else {
        return Ok(current);
    };
    keep_for_payloads(conn, id, &raw)?;
    conn.prepare_cached("UPDATE payloads SET zstd_level = NULL WHERE zstd_level IS NOT NULL")?
        .execute([])?;
    Ok(Some((id, raw)))
}

/// Trains a dictionary on the newest plain bodies when the store holds enough
/// events, stores it and (unless `Only`) rewrites those bodies with it.
fn train(conn: &Connection, training: Training) -> R<Option<(u32, Raw)>> {
    let events: i64 = conn
        .prepare_cached("SELECT coalesce(max(id), 0) FROM events")?
        .query_row([], |row| row.get(0))?;
    if events < TRAIN_AT {
        return Ok(None);
    }
    let samples = conn
        .prepare_cached(
            "SELECT id, body FROM events WHERE typeof(body) = 'text' ORDER BY id DESC LIMIT ?1",
        )?
        .query_map([SAMPLES], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let started = std::time::Instant::now();
    let texts: Vec<&[u8]> = samples.iter().map(|(_, body)| body.as_bytes()).collect();
    // Too few or too alike samples: zstd says so; the store stays without one
    // until the next look.
    let Ok(trained) = zstd::dict::from_samples(&texts, SIZE) else {
        return Ok(None);
    };
    let Some(id) = zstd::zstd_safe::get_dict_id_from_dict(&trained) else {
        return Ok(None);
    };
    let raw = Raw::from(trained);
    tracing::debug!(
        "trained zstd dictionary {id} ({} bytes) on {} bodies in {:?}",
        raw.len(),
        texts.len(),
        started.elapsed()
    );
    keep_stored(conn, id.get(), &raw, Purpose::Bodies)?;
    if training == Training::Only {
        return Ok(Some((id.get(), raw)));
    }
    let mut update =
        conn.prepare_cached("UPDATE events SET body = ?1, zstd_level = NULL WHERE id = ?2")?;
    for (row, body) in &samples {
        if let Some(frame) =
            crate::payloads::compress_with(&raw, crate::payloads::Texts::Bodies, body.as_bytes())
        {
            update.execute(params![frame, row])?;
        }
    }
    Ok(Some((id.get(), raw)))
}
