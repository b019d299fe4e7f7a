//! One writer per chat session: a lease row with the holder and its heartbeat.

use std::time::Duration;

use cairn_core::{Error, Lease, LeaseHolder};
use rusqlite::{Connection, OptionalExtension, params};
use ulid::Ulid;

use crate::fail::R;
use crate::sessions;
use crate::time;

struct StoredLease {
    holder: LeaseHolder,
    acquired_us: i64,
    heartbeat_us: i64,
}

fn current(conn: &Connection, session_key: i64) -> R<Option<StoredLease>> {
    Ok(conn
        .prepare_cached(
            "SELECT pid, host, token, acquired_us, heartbeat_us FROM leases WHERE session = ?1",
        )?
        .query_row([session_key], |row| {
            Ok(StoredLease {
                holder: LeaseHolder {
                    pid: row.get(0)?,
                    host: row.get(1)?,
                    token: row.get(2)?,
                },
                acquired_us: row.get(3)?,
                heartbeat_us: row.get(4)?,
            })
        })
        .optional()?)
}

fn held(session_name: &str, lease: &StoredLease) -> R<Error> {
    Ok(Error::LeaseHeld {
        session: session_name.to_owned(),
        holder: lease.holder.describe(),
        heartbeat: time::from_micros(lease.heartbeat_us)?.to_string(),
    })
}

fn write(
    conn: &Connection,
    session_key: i64,
    holder: &LeaseHolder,
    acquired: i64,
    beat: i64,
) -> R<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO leases (session, pid, host, token, acquired_us, heartbeat_us) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        session_key,
        holder.pid,
        holder.host,
        holder.token,
        acquired,
        beat
    ])?;
    Ok(())
}

pub(crate) fn acquire(
    conn: &Connection,
    session: Ulid,
    holder: &LeaseHolder,
    stale_after: Duration,
    force: bool,
) -> R<Lease> {
    let stored = sessions::by_id(conn, session)?;
    let now = time::now();
    let now_us = time::micros(now);
    let stale_us = i64::try_from(stale_after.as_micros()).unwrap_or(i64::MAX);
    let acquired_us = match current(conn, stored.key)? {
        Some(lease) if lease.holder == *holder => lease.acquired_us,
        Some(lease) if !force && now_us.saturating_sub(lease.heartbeat_us) < stale_us => {
            return Err(held(stored.session.name.as_str(), &lease)?.into());
        }
        _ => now_us,
    };
    write(conn, stored.key, holder, acquired_us, now_us)?;
    Ok(Lease {
        session_id: session,
        holder: holder.clone(),
        acquired_at: time::from_micros(acquired_us)?,
        heartbeat_at: now,
    })
}

pub(crate) fn heartbeat(conn: &Connection, session: Ulid, holder: &LeaseHolder) -> R<()> {
    let stored = sessions::by_id(conn, session)?;
    let now_us = time::micros(time::now());
    match current(conn, stored.key)? {
        Some(lease) if lease.holder == *holder => {
            conn.prepare_cached("UPDATE leases SET heartbeat_us = ?1 WHERE session = ?2")?
                .execute(params![now_us, stored.key])?;
            Ok(())
        }
        Some(lease) => Err(held(stored.session.name.as_str(), &lease)?.into()),
        // Released meanwhile (or never taken): the holder is still writing, so it
        // takes the free lease again rather than run unguarded.
        None => write(conn, stored.key, holder, now_us, now_us),
    }
}

pub(crate) fn release(conn: &Connection, session: Ulid, holder: &LeaseHolder) -> R<()> {
    let key = sessions::key_of(conn, session)?;
    conn.prepare_cached(
        "DELETE FROM leases WHERE session = ?1 AND pid = ?2 AND host = ?3 AND token = ?4",
    )?
    .execute(params![key, holder.pid, holder.host, holder.token])?;
    Ok(())
}

/// The lease of `session` as stored (stale or not), for callers that decide what to
/// do about its holder (e.g. take over from a process that no longer exists).
pub(crate) fn get(conn: &Connection, session: Ulid) -> R<Option<Lease>> {
    let key = sessions::key_of(conn, session)?;
    current(conn, key)?
        .map(|lease| {
            Ok(Lease {
                session_id: session,
                holder: lease.holder,
                acquired_at: time::from_micros(lease.acquired_us)?,
                heartbeat_at: time::from_micros(lease.heartbeat_us)?,
            })
        })
        .transpose()
}
