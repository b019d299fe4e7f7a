//! The change feed. This process's own writes are announced by `SqliteStore`
//! right after they commit. Writes by other processes are noticed by a watcher
//! thread that runs only while someone subscribes: every `WATCH_INTERVAL` it asks
//! the writer connection for `PRAGMA data_version`, which changes exactly when
//! another connection committed (this process's readers never write), and
//! announces `StoreChange::External`. Nobody subscribed: no thread, and an
//! announcement is one uncontended lock.

use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use cairn_core::StoreChange;
use tokio::sync::broadcast;

use crate::connections::Connections;

/// How late another process's write may be announced.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(200);
/// Changes a subscriber may fall behind before it gets `Lagged`.
const CAPACITY: usize = 1024;

pub(crate) struct Changes {
    sender: broadcast::Sender<StoreChange>,
    /// Whether the watcher thread runs; subscribing and the watcher's decision to
    /// stop both hold this lock, so a new subscriber is never left unwatched.
    watching: Mutex<bool>,
}

impl Changes {
    pub(crate) fn new() -> Self {
        Changes {
            sender: broadcast::channel(CAPACITY).0,
            watching: Mutex::new(false),
        }
    }

    pub(crate) fn announce(&self, change: StoreChange) {
        // An error only means nobody listens.
        let _ = self.sender.send(change);
    }

    pub(crate) fn subscribe(
        self: &Arc<Self>,
        connections: &Arc<Connections>,
    ) -> broadcast::Receiver<StoreChange> {
        let mut watching = self.watching.lock().unwrap_or_else(PoisonError::into_inner);
        let receiver = self.sender.subscribe();
        if !*watching {
            // Sampled now, so a write right after subscribing is not missed.
            let first = connections.data_version().ok();
            let (changes, connections) = (Arc::downgrade(self), Arc::downgrade(connections));
            let started = std::thread::Builder::new()
                .name("cairn-store-watch".into())
                .spawn(move || watch(&changes, &connections, first));
            // Without the thread only other processes' writes go unannounced.
            match started {
                Ok(_) => *watching = true,
                Err(e) => tracing::warn!("cannot watch the store for other processes: {e}"),
            }
        }
        receiver
    }
}

fn watch(changes: &Weak<Changes>, connections: &Weak<Connections>, mut last: Option<i64>) {
    loop {
        std::thread::sleep(WATCH_INTERVAL);
        // The store was dropped: nothing more will change through it.
        let (Some(changes), Some(connections)) = (changes.upgrade(), connections.upgrade()) else {
            return;
        };
        {
            let mut watching = changes
                .watching
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if changes.sender.receiver_count() == 0 {
                *watching = false;
                return;
            }
        }
        match connections.data_version() {
            Ok(version) => {
                if last.is_some_and(|last| last != version) {
                    changes.announce(StoreChange::External);
                }
                last = Some(version);
            }
            Err(e) => tracing::debug!("store watch: {e}"),
        }
    }
}
