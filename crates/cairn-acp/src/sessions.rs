//! The sessions one connection drives: each open session's engine, and the
//! cancellation of the turn running in it. One turn per session at a time: a second
//! prompt for a busy session is refused at once, never queued or interleaved.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use cairn_agent::Agent;
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};
use tokio_util::sync::CancellationToken;

/// One open session: its engine and the shell commands the person allowed "always".
pub(crate) struct Slot {
    pub agent: Agent,
    /// Commands approved with "always allow this command" (this connection only).
    pub always_allowed: HashSet<String>,
}

type SlotCell = Arc<AsyncMutex<Option<Slot>>>;

pub(crate) struct Sessions {
    /// The open sessions; `None` once the connection has ended.
    open: Mutex<Option<HashMap<String, SlotCell>>>,
    turns: Mutex<HashMap<String, CancellationToken>>,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            open: Mutex::new(Some(HashMap::new())),
            turns: Mutex::new(HashMap::new()),
        }
    }
}

/// Why a session cannot take a prompt now.
pub(crate) enum Unavailable {
    NotOpen,
    Busy,
}

impl Sessions {
    fn open_map(&self) -> MutexGuard<'_, Option<HashMap<String, SlotCell>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn turn_map(&self) -> MutexGuard<'_, HashMap<String, CancellationToken>> {
        self.turns.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keep `agent` as the engine of `name`; returns the engine to close: the one it
    /// replaces, or `agent` itself when the connection has already ended.
    pub(crate) async fn insert(&self, name: &str, agent: Agent) -> Option<Agent> {
        let slot = Slot {
            agent,
            always_allowed: HashSet::new(),
        };
        let cell = {
            let mut open = self.open_map();
            let Some(map) = open.as_mut() else {
                return Some(slot.agent);
            };
            match map.get(name) {
                Some(cell) => cell.clone(),
                None => {
                    map.insert(name.to_owned(), Arc::new(AsyncMutex::new(Some(slot))));
                    return None;
                }
            }
        };
        let mut guard = cell.lock().await;
        guard.replace(slot).map(|old| old.agent)
    }

    /// The session's engine for one turn, or why not. The guard is held for the whole
    /// turn; dropping it frees the session for the next prompt.
    pub(crate) fn begin_turn(
        &self,
        name: &str,
    ) -> Result<(OwnedMutexGuard<Option<Slot>>, CancellationToken), Unavailable> {
        let cell = self
            .open_map()
            .as_ref()
            .and_then(|map| map.get(name).cloned())
            .ok_or(Unavailable::NotOpen)?;
        let guard = cell.try_lock_owned().map_err(|_| Unavailable::Busy)?;
        if guard.is_none() {
            return Err(Unavailable::NotOpen);
        }
        let cancel = CancellationToken::new();
        self.turn_map().insert(name.to_owned(), cancel.clone());
        Ok((guard, cancel))
    }

    /// `session/close`: forget `name`, handing back its engine to close (`None` when it
    /// is not open, or a turn still holds it after cancellation).
    pub(crate) async fn remove(&self, name: &str) -> Option<Agent> {
        let cell = self.open_map().as_mut()?.remove(name)?;
        let mut guard = cell.lock().await;
        guard.take().map(|slot| slot.agent)
    }

    /// The turn of `name` ended: free the session for the next prompt, or, when the
    /// connection ended meanwhile, hand back its engine to close (its lease released).
    pub(crate) fn end_turn(
        &self,
        name: &str,
        mut guard: OwnedMutexGuard<Option<Slot>>,
    ) -> Option<Agent> {
        self.turn_map().remove(name);
        // Decided under the map's lock, so `shut_down` sees either a free session or
        // none at all.
        let open = self.open_map();
        if open.is_some() {
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
        if let Some(token) = self.turn_map().get(name) {
            token.cancel();
        }
    }

    /// The connection ended: interrupt every turn and hand back the idle engines so
    /// their leases are released; a turn still running hands its engine back through
    /// [`Sessions::end_turn`] once it has stored what it received, marked interrupted.
    pub(crate) fn shut_down(&self) -> Vec<Agent> {
        for token in self.turn_map().values() {
            token.cancel();
        }
        let mut open = self.open_map();
        let cells: Vec<SlotCell> = open
            .take()
            .map(|map| map.into_values().collect())
            .unwrap_or_default();
        cells
            .into_iter()
            .filter_map(|cell| cell.try_lock_owned().ok())
            .filter_map(|mut guard| guard.take().map(|slot| slot.agent))
            .collect()
    }
}
