//! One writer per session (ARCHITECTURE.md lease): the agent holds the store's lease on its
//! session while it drives it, refreshed by a heartbeat task. A second process gets
//! an error naming the holder, unless it passes `--force`. A lease whose holder is a
//! process of this host that no longer exists (killed with -9) is taken over without
//! `--force`: nobody can be writing through it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cairn_core::{Error, LeaseHolder, Session, Store};
use tokio::task::JoinHandle;
use ulid::Ulid;

/// A lease not refreshed for this long is stale: anyone may take it.
pub const STALE_AFTER: Duration = Duration::from_secs(30);
/// How often the holder refreshes its lease.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(10);

/// This process as a lease holder.
pub fn this_process() -> LeaseHolder {
    LeaseHolder {
        pid: std::process::id(),
        host: hostname(),
        token: ulid::Ulid::new().to_string(),
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "localhost".to_owned())
}

/// A held lease; its heartbeat runs until [`LeaseGuard::release`] or drop.
pub struct LeaseGuard {
    store: Arc<dyn Store>,
    session: Ulid,
    holder: LeaseHolder,
    lost: Arc<AtomicBool>,
    /// Who took the lease, as the store named them when it was noticed.
    taken_by: Arc<Mutex<Option<String>>>,
    /// This process forced the lease and has not yet confirmed holding it: losing it
    /// now means another process forced it at the same time.
    racing: AtomicBool,
    heartbeat: JoinHandle<()>,
    /// Set when the lease was taken from someone (forced, or a dead process).
    pub took_over_from: Option<String>,
}

impl LeaseGuard {
    /// Take the writer lease of `session`.
    pub async fn acquire(
        store: Arc<dyn Store>,
        session: &Session,
        force: bool,
    ) -> Result<LeaseGuard, Error> {
        let holder = this_process();
        let mut took_over_from = None;
        match store
            .acquire_lease(session.id, &holder, STALE_AFTER, force)
            .await
        {
            Ok(_) => {}
            Err(Error::LeaseHeld {
                holder: other,
                session: name,
                heartbeat,
            }) => {
                // The error names the holder for people; the store says who it is.
                let dead = match store.lease(session.id).await? {
                    Some(lease) if holder_is_dead(&lease.holder, &holder.host) => {
                        Some(lease.holder)
                    }
                    _ => None,
                };
                let Some(dead) = dead else {
                    return Err(Error::LeaseHeld {
                        session: name,
                        holder: other,
                        heartbeat,
                    });
                };
                store
                    .acquire_lease(session.id, &holder, STALE_AFTER, true)
                    .await?;
                took_over_from = Some(format!("{} (no longer running)", dead.describe()));
            }
            Err(e) => return Err(e),
        }
        if force && took_over_from.is_none() {
            took_over_from = Some("--force".to_owned());
        }
        let lost = Arc::new(AtomicBool::new(false));
        let taken_by = Arc::new(Mutex::new(None));
        let heartbeat = tokio::spawn(beat(
            store.clone(),
            session.id,
            holder.clone(),
            lost.clone(),
            taken_by.clone(),
        ));
        Ok(LeaseGuard {
            store,
            session: session.id,
            holder,
            lost,
            taken_by,
            racing: AtomicBool::new(force),
            heartbeat,
            took_over_from,
        })
    }

    /// `LeaseLost` when another process took the session over (with `--force`):
    /// checked before every write so two writers never interleave. The error names
    /// the holder, and says so when it forced the session at the same time as this
    /// process did (telling the loser of that race to "use --force" would be wrong).
    pub fn check(&self, session_name: &str) -> Result<(), Error> {
        if !self.lost.load(Ordering::SeqCst) {
            return Ok(());
        }
        let holder = self
            .taken_by
            .lock()
            .ok()
            .and_then(|h| h.clone())
            .unwrap_or_else(|| "another process".to_owned());
        let message = if self.racing.load(Ordering::SeqCst) {
            format!(
                "session {session_name}: {holder} took the lease at the same time as this \
                 process (both forced it); it holds the session now and nothing more was \
                 written here. Resume it once that process is done"
            )
        } else {
            format!(
                "session {session_name} was taken over by {holder} (with --force); nothing \
                 more was written here. Resume it once that process is done, or take it \
                 back with --force"
            )
        };
        Err(Error::LeaseLost {
            session: session_name.to_owned(),
            message,
        })
    }

    /// Refresh the lease now and fail with `LeaseHeld` when another process took it:
    /// called at the start of every turn, so a takeover is noticed before anything is
    /// written rather than at the next heartbeat.
    pub async fn verify(&self, session_name: &str) -> Result<(), Error> {
        self.check(session_name)?;
        match self.store.heartbeat_lease(self.session, &self.holder).await {
            Err(Error::LeaseHeld { holder, .. }) => {
                note_lost(&self.lost, &self.taken_by, holder);
                self.check(session_name)
            }
            Ok(()) => {
                // Held past the first check: a later loss is a takeover, not a race.
                self.racing.store(false, Ordering::SeqCst);
                Ok(())
            }
            other => other,
        }
    }

    pub fn holder(&self) -> &LeaseHolder {
        &self.holder
    }

    pub async fn release(self) -> Result<(), Error> {
        self.heartbeat.abort();
        if self.lost.load(Ordering::SeqCst) {
            return Ok(());
        }
        self.store.release_lease(self.session, &self.holder).await
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}

fn note_lost(lost: &AtomicBool, taken_by: &Mutex<Option<String>>, holder: String) {
    if let Ok(mut slot) = taken_by.lock() {
        slot.get_or_insert(holder);
    }
    lost.store(true, Ordering::SeqCst);
}

async fn beat(
    store: Arc<dyn Store>,
    session: Ulid,
    holder: LeaseHolder,
    lost: Arc<AtomicBool>,
    taken_by: Arc<Mutex<Option<String>>>,
) {
    let mut ticker = tokio::time::interval(HEARTBEAT_EVERY);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        match store.heartbeat_lease(session, &holder).await {
            Ok(()) => {}
            Err(Error::LeaseHeld { holder, .. }) => {
                note_lost(&lost, &taken_by, holder);
                return;
            }
            Err(e) => tracing::warn!("lease heartbeat failed: {e}"),
        }
    }
}

/// Whether `holder` is a process of this host that no longer exists.
fn holder_is_dead(holder: &LeaseHolder, this_host: &str) -> bool {
    let Ok(pid) = i32::try_from(holder.pid) else {
        return false;
    };
    if holder.host != this_host || pid <= 0 {
        return false;
    }
    // SAFETY: kill(2) with signal 0 only checks whether the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    !alive
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_holders_of_this_host_are_recognised() {
        let host = hostname();
        let holder = |pid: u32, host: &str| LeaseHolder {
            pid,
            host: host.to_owned(),
            token: "t".to_owned(),
        };
        assert!(!holder_is_dead(&holder(std::process::id(), &host), &host));
        // pid_max on Linux is at most 2^22, so this pid cannot exist.
        assert!(holder_is_dead(&holder(9_999_999, &host), &host));
        assert!(!holder_is_dead(&holder(9_999_999, "elsewhere"), &host));
        assert!(!holder_is_dead(&holder(0, &host), &host));
        assert!(!holder_is_dead(&holder(u32::MAX, &host), &host));
    }
}
