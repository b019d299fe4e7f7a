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

#[derive(Default)]
pub(crate) struct Sessions {
    open: Mutex<HashMap<String, SlotCell>>,
    turns: Mutex<HashMap<String, CancellationToken>>,
}

/// Why a session cannot take a prompt now.
pub(crate) enum Unavailable {
    NotOpen,
    Busy,
}

impl Sessions {
    fn open_map(&self) -> MutexGuard<'_, HashMap<String, SlotCell>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn turn_map(&self) -> MutexGuard<'_, HashMap<String, CancellationToken>> {
        self.turns.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keep `agent` as the engine of `name`; returns the engine it replaces (to close).
    pub(crate) async fn insert(&self, name: &str, agent: Agent) -> Option<Agent> {
        let cell = self.open_map().get(name).cloned();
        let slot = Slot {
            agent,
            always_allowed: HashSet::new(),
        };
        match cell {
            Some(cell) => {
                let mut guard = cell.lock().await;
                guard.replace(slot).map(|old| old.agent)
            }
            None => {
                self.open_map()
                    .insert(name.to_owned(), Arc::new(AsyncMutex::new(Some(slot))));
                None
            }
        }
    }

    /// The session's engine for one turn, or why not. The guard is held for the whole
    /// turn; dropping it frees the session for the next prompt.
    pub(crate) fn begin_turn(
        &self,
        name: &str,
    ) -> Result<(OwnedMutexGuard<Option<Slot>>, CancellationToken), Unavailable> {
        let cell = self
            .open_map()
            .get(name)
            .cloned()
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
        let cell = self.open_map().remove(name)?;
        let mut guard = cell.lock().await;
        guard.take().map(|slot| slot.agent)
    }

    /// The turn of `name` ended.
    pub(crate) fn end_turn(&self, name: &str) {
        self.turn_map().remove(name);
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
    /// their leases are released (a turn still running keeps its engine; the lease
    /// goes stale, and is taken over at once once this process is gone).
    pub(crate) fn shut_down(&self) -> Vec<Agent> {
        for token in self.turn_map().values() {
            token.cancel();
        }
        let cells: Vec<SlotCell> = self.open_map().drain().map(|(_, c)| c).collect();
        cells
            .into_iter()
            .filter_map(|cell| cell.try_lock_owned().ok())
            .filter_map(|mut guard| guard.take().map(|slot| slot.agent))
            .collect()
    }
}
