//! One writer per chat session: a lease row with the holder and its heartbeat.
//! Every lease change first locks the session row, so two takers take turns.

use std::time::Duration;

use cairn_core::{Error, Lease, LeaseHolder};
use deadpool_postgres::Transaction;
use ulid::Ulid;

use crate::fail::R;
use crate::rows::{from_micros, get, micros, now};
use crate::sessions;

struct StoredLease {
    holder: LeaseHolder,
    acquired_us: i64,
    heartbeat_us: i64,
}

async fn current(tx: &Transaction<'_>, session_key: i64) -> R<Option<StoredLease>> {
    let statement = tx
        .prepare_cached(
            "SELECT pid, host, token, acquired_us, heartbeat_us FROM leases WHERE session = $1",
        )
        .await?;
    let Some(row) = tx.query_opt(&statement, &[&session_key]).await? else {
        return Ok(None);
    };
    let pid: i64 = get(&row, 0)?;
    Ok(Some(StoredLease {
        holder: LeaseHolder {
            pid: u32::try_from(pid)
                .map_err(|_| crate::fail::unreadable(format!("lease pid {pid}")))?,
            host: get(&row, 1)?,
            token: get(&row, 2)?,
        },
        acquired_us: get(&row, 3)?,
        heartbeat_us: get(&row, 4)?,
    }))
}

fn held(session_name: &str, lease: &StoredLease) -> R<Error> {
    Ok(Error::LeaseHeld {
        session: session_name.to_owned(),
        holder: lease.holder.describe(),
        heartbeat: from_micros(lease.heartbeat_us)?.to_string(),
    })
}

async fn write(
    tx: &Transaction<'_>,
    session_key: i64,
    holder: &LeaseHolder,
    acquired: i64,
    beat: i64,
) -> R<()> {
    let statement = tx
        .prepare_cached(
            "INSERT INTO leases (session, pid, host, token, acquired_us, heartbeat_us) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (session) DO UPDATE SET pid = EXCLUDED.pid, host = EXCLUDED.host, \
             token = EXCLUDED.token, acquired_us = EXCLUDED.acquired_us, \
             heartbeat_us = EXCLUDED.heartbeat_us",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &session_key,
            &i64::from(holder.pid),
            &holder.host,
            &holder.token,
            &acquired,
            &beat,
        ],
    )
    .await?;
    Ok(())
}

pub(crate) async fn acquire(
    tx: &Transaction<'_>,
    session: Ulid,
    holder: &LeaseHolder,
    stale_after: Duration,
    force: bool,
) -> R<Lease> {
    let stored = sessions::lock_by_id(tx, session).await?;
    let now = now();
    let now_us = micros(now);
    let stale_us = i64::try_from(stale_after.as_micros()).unwrap_or(i64::MAX);
    let acquired_us = match current(tx, stored.key).await? {
        Some(lease) if lease.holder == *holder => lease.acquired_us,
        Some(lease) if !force && now_us.saturating_sub(lease.heartbeat_us) < stale_us => {
            return Err(held(stored.session.name.as_str(), &lease)?.into());
        }
        _ => now_us,
    };
    write(tx, stored.key, holder, acquired_us, now_us).await?;
    Ok(Lease {
        session_id: session,
        holder: holder.clone(),
        acquired_at: from_micros(acquired_us)?,
        heartbeat_at: now,
    })
}

pub(crate) async fn heartbeat(tx: &Transaction<'_>, session: Ulid, holder: &LeaseHolder) -> R<()> {
    let stored = sessions::lock_by_id(tx, session).await?;
    let now_us = micros(now());
    match current(tx, stored.key).await? {
        Some(lease) if lease.holder == *holder => {
            let statement = tx
                .prepare_cached("UPDATE leases SET heartbeat_us = $1 WHERE session = $2")
                .await?;
            tx.execute(&statement, &[&now_us, &stored.key]).await?;
            Ok(())
        }
        Some(lease) => Err(held(stored.session.name.as_str(), &lease)?.into()),
        // Released meanwhile (or never taken): the holder is still writing, so it
        // takes the free lease again rather than run unguarded.
        None => write(tx, stored.key, holder, now_us, now_us).await,
    }
}

pub(crate) async fn release(tx: &Transaction<'_>, session: Ulid, holder: &LeaseHolder) -> R<()> {
    let key = sessions::key_of(tx, session).await?;
    let statement = tx
        .prepare_cached(
            "DELETE FROM leases WHERE session = $1 AND pid = $2 AND host = $3 AND token = $4",
        )
        .await?;
    tx.execute(
        &statement,
        &[&key, &i64::from(holder.pid), &holder.host, &holder.token],
    )
    .await?;
    Ok(())
}

/// The lease of `session` as stored (stale or not).
pub(crate) async fn get_lease(tx: &Transaction<'_>, session: Ulid) -> R<Option<Lease>> {
    let key = sessions::key_of(tx, session).await?;
    current(tx, key)
        .await?
        .map(|lease| {
            Ok(Lease {
                session_id: session,
                holder: lease.holder,
                acquired_at: from_micros(lease.acquired_us)?,
                heartbeat_at: from_micros(lease.heartbeat_us)?,
            })
        })
        .transpose()
}
