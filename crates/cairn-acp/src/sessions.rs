//! The open sessions of an ACP face: each open session's engine, the connections that
//! have it open, and the cancellation of the turn running in it. `cairn acp` has one
//! connection; a daemon shares one table between all its connections
//! ([`SharedSessions`]), so a session is open once in the process (one lease) however
//! many clients drive it. One turn per session at a time: a second prompt for a busy
//! session is refused at once, never queued or interleaved.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use cairn_agent::Agent;
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};
use tokio_util::sync::CancellationToken;

/// One open session: its engine and the shell commands the person allowed "always".
pub(crate) struct Slot {
    pub agent: Agent,
    /// Commands approved with "always allow this command" (while the session is open).
    pub always_allowed: HashSet<String>,
}

type SlotCell = Arc<AsyncMutex<Option<Slot>>>;

/// Which connection of the process; the sessions it opened are released when it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ConnId(u64);

struct Entry {
    cell: SlotCell,
    /// The connections that have the session open; the session is closed (its lease
    /// released) when the last one closes it or goes away.
    users: HashSet<ConnId>,
}

struct Turn {
    cancel: CancellationToken,
    started_by: ConnId,
}

/// The session table of a process, shared by its ACP connections. Cheap to clone.
#[derive(Clone, Default)]
pub struct SharedSessions {
    inner: Arc<Sessions>,
}

impl SharedSessions {
    pub(crate) fn table(&self) -> &Sessions {
        &self.inner
    }

    /// The process is stopping: interrupt every running turn (each stores what it
    /// received, marked interrupted, then releases its lease) and close the idle
    /// sessions. New opens are refused from now on.
    pub async fn shut_down(&self) {
        for agent in self.inner.shut_down() {
            if let Err(error) = agent.close().await {
                tracing::warn!("closing a session at shutdown: {error}");
            }
        }
    }

    /// Whether a turn is running in `name`.
    pub fn is_busy(&self, name: &str) -> bool {
        self.inner.is_busy(name)
    }
}

pub(crate) struct Sessions {
    /// The open sessions; `None` once the process is shutting down.
    open: Mutex<Option<HashMap<String, Entry>>>,
    turns: Mutex<HashMap<String, Turn>>,
    next_conn: AtomicU64,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            open: Mutex::new(Some(HashMap::new())),
            turns: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(1),
        }
    }
}

/// Why a session cannot take a prompt now.
pub(crate) enum Unavailable {
    NotOpen,
    Busy,
}

/// What [`Sessions::join`] found.
pub(crate) enum Joined {
    /// Open in the process and now on this connection too: its engine, to replay from.
    Open(OwnedMutexGuard<Option<Slot>>),
    /// Not open in the process: the caller opens it and [`Sessions::insert`]s it.
    Closed,
}

impl Sessions {
    fn open_map(&self) -> MutexGuard<'_, Option<HashMap<String, Entry>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn turn_map(&self) -> MutexGuard<'_, HashMap<String, Turn>> {
        self.turns.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn connect(&self) -> ConnId {
        ConnId(self.next_conn.fetch_add(1, Ordering::Relaxed))
    }

    /// Keep `agent` as the engine of `name`, open on `conn`; returns the engine to
    /// close: the one it replaces, or `agent` itself when the process is stopping.
    pub(crate) async fn insert(&self, conn: ConnId, name: &str, agent: Agent) -> Option<Agent> {
        let slot = Slot {
            agent,
            always_allowed: HashSet::new(),
        };
        let cell = {
            let mut open = self.open_map();
            let Some(map) = open.as_mut() else {
                return Some(slot.agent);
            };
            match map.get_mut(name) {
                Some(entry) => {
                    entry.users.insert(conn);
                    entry.cell.clone()
                }
                None => {
                    map.insert(
                        name.to_owned(),
                        Entry {
                            cell: Arc::new(AsyncMutex::new(Some(slot))),
                            users: HashSet::from([conn]),
                        },
                    );
                    return None;
                }
            }
        };
        let mut guard = cell.lock().await;
        guard.replace(slot).map(|old| old.agent)
    }

    /// `session/load` or `session/resume` of `name` on `conn`: when another connection
    /// of the process has it open, this one shares it (no second lease); refused while
    /// a turn runs in it.
    pub(crate) fn join(&self, conn: ConnId, name: &str) -> Result<Joined, Unavailable> {
        if self.is_busy(name) {
            return Err(Unavailable::Busy);
        }
        let mut open = self.open_map();
        let Some(entry) = open.as_mut().and_then(|map| map.get_mut(name)) else {
            return Ok(Joined::Closed);
        };
        let guard = entry
            .cell
            .clone()
            .try_lock_owned()
            .map_err(|_| Unavailable::Busy)?;
        if guard.is_none() {
            return Ok(Joined::Closed);
        }
        entry.users.insert(conn);
        Ok(Joined::Open(guard))
    }

    /// The session's engine for one turn started by `conn`, or why not. The guard is
    /// held for the whole turn; dropping it frees the session for the next prompt.
    pub(crate) fn begin_turn(
        &self,
        conn: ConnId,
        name: &str,
    ) -> Result<(OwnedMutexGuard<Option<Slot>>, CancellationToken), Unavailable> {
        let cell = self
            .open_map()
            .as_ref()
            .and_then(|map| map.get(name))
            .filter(|entry| entry.users.contains(&conn))
            .map(|entry| entry.cell.clone())
            .ok_or(Unavailable::NotOpen)?;
        let guard = cell.try_lock_owned().map_err(|_| Unavailable::Busy)?;
        if guard.is_none() {
            return Err(Unavailable::NotOpen);
        }
        let cancel = CancellationToken::new();
        self.turn_map().insert(
            name.to_owned(),
            Turn {
                cancel: cancel.clone(),
                started_by: conn,
            },
        );
        Ok((guard, cancel))
    }

    /// `session/close` on `conn`: this connection lets go of `name`; the engine to
    /// close comes back when it was the last one to have it open (`Err` when it did
    /// not have it open).
    pub(crate) async fn close(&self, conn: ConnId, name: &str) -> Result<Option<Agent>, ()> {
        let cell = {
            let mut open = self.open_map();
            let Some(map) = open.as_mut() else {
                return Err(());
            };
            let Some(entry) = map.get_mut(name) else {
                return Err(());
            };
            if !entry.users.remove(&conn) {
                return Err(());
            }
            if !entry.users.is_empty() {
                return Ok(None);
            }
            let Some(entry) = map.remove(name) else {
                return Ok(None);
            };
            entry.cell
        };
        self.cancel(name);
        let mut guard = cell.lock().await;
        Ok(guard.take().map(|slot| slot.agent))
    }

    /// The turn of `name` ended: free the session for the next prompt, or, when
    /// nobody has it open any more (every connection gone, or the process stopping),
    /// hand back its engine to close (its lease released).
    pub(crate) fn end_turn(
        &self,
        name: &str,
        mut guard: OwnedMutexGuard<Option<Slot>>,
    ) -> Option<Agent> {
        self.turn_map().remove(name);
        // Decided under the map's lock, so `release` and `shut_down` see either a
        // free session or none at all.
        let open = self.open_map();
        let still_open = open
            .as_ref()
            .and_then(|map| map.get(name))
            .is_some_and(|entry| Arc::ptr_eq(&entry.cell, OwnedMutexGuard::mutex(&guard)));
        if still_open {
            drop(guard);
            return None;
        }
        guard.take().map(|slot| slot.agent)
    }

    /// Whether a turn is running in `name` (a new load must not replace it).
    pub(crate) fn is_busy(&self, name: &str) -> bool {
        self.turn_map().contains_key(name)
    }

    /// `session/cancel`: interrupt the running turn of `name`, if any.
    pub(crate) fn cancel(&self, name: &str) {
        if let Some(turn) = self.turn_map().get(name) {
            turn.cancel.cancel();
        }
    }

    /// Connection `conn` ended: interrupt the turns it started, and hand back the idle
    /// engines of the sessions nobody else has open so their leases are released; a
    /// turn still running hands its engine back through [`Sessions::end_turn`] once it
    /// has stored what it received, marked interrupted.
    pub(crate) fn release(&self, conn: ConnId) -> Vec<Agent> {
        for turn in self.turn_map().values() {
            if turn.started_by == conn {
                turn.cancel.cancel();
            }
        }
        let mut open = self.open_map();
        let Some(map) = open.as_mut() else {
            return Vec::new();
        };
        let mut orphans = Vec::new();
        map.retain(|_, entry| {
            entry.users.remove(&conn);
            if entry.users.is_empty() {
                orphans.push(entry.cell.clone());
                false
            } else {
                true
            }
        });
        drop(open);
        orphans
            .into_iter()
            .filter_map(|cell| cell.try_lock_owned().ok())
            .filter_map(|mut guard| guard.take().map(|slot| slot.agent))
            .collect()
    }

    /// The process is stopping: interrupt every turn and hand back the idle engines.
    pub(crate) fn shut_down(&self) -> Vec<Agent> {
        for turn in self.turn_map().values() {
            turn.cancel.cancel();
        }
        let cells: Vec<SlotCell> = self
            .open_map()
            .take()
            .map(|map| map.into_values().map(|entry| entry.cell).collect())
            .unwrap_or_default();
        cells
            .into_iter()
            .filter_map(|cell| cell.try_lock_owned().ok())
            .filter_map(|mut guard| guard.take().map(|slot| slot.agent))
            .collect()
    }
}
