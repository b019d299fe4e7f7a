//! One writer per session (DESIGN.md lease): the agent holds the store's lease on its
//! session while it drives it, refreshed by a heartbeat task. A second process gets
//! an error naming the holder, unless it passes `--force`. A lease whose holder is a
//! process of this host that no longer exists (killed with -9) is taken over without
//! `--force`: nobody can be writing through it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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
        let heartbeat = tokio::spawn(beat(
            store.clone(),
            session.id,
            holder.clone(),
            lost.clone(),
        ));
        Ok(LeaseGuard {
            store,
            session: session.id,
            holder,
            lost,
            heartbeat,
            took_over_from,
        })
    }

    /// `LeaseHeld` when another process took the session over (with `--force`):
    /// checked before every write so two writers never interleave.
    pub fn check(&self, session_name: &str) -> Result<(), Error> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(Error::LeaseHeld {
                session: session_name.to_owned(),
                holder: "another process (it took the session over with --force)".to_owned(),
                heartbeat: "recent".to_owned(),
            });
        }
        Ok(())
    }

    /// Refresh the lease now and fail with `LeaseHeld` when another process took it:
    /// called at the start of every turn, so a takeover is noticed before anything is
    /// written rather than at the next heartbeat.
    pub async fn verify(&self, session_name: &str) -> Result<(), Error> {
        self.check(session_name)?;
        match self.store.heartbeat_lease(self.session, &self.holder).await {
            Err(Error::LeaseHeld { .. }) => {
                self.lost.store(true, Ordering::SeqCst);
                self.check(session_name)
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

async fn beat(store: Arc<dyn Store>, session: Ulid, holder: LeaseHolder, lost: Arc<AtomicBool>) {
    let mut ticker = tokio::time::interval(HEARTBEAT_EVERY);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        match store.heartbeat_lease(session, &holder).await {
            Ok(()) => {}
            Err(Error::LeaseHeld { .. }) => {
                lost.store(true, Ordering::SeqCst);
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
