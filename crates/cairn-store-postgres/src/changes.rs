//! The change feed with LISTEN/NOTIFY. Every announced write also runs
//! `pg_notify(CHANNEL, origin)` in its transaction, so the notice leaves exactly
//! when the write commits. This store value's own writes are announced precisely
//! right after commit; a listener task, running only while someone subscribes,
//! holds one connection that LISTENs and announces `StoreChange::External` for
//! every notice from another origin (another process, another machine).

use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use cairn_core::StoreChange;
use futures::StreamExt;
use tokio::sync::{broadcast, mpsc};
use tokio_postgres::AsyncMessage;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The notification channel every cairn store of a database shares.
pub(crate) const CHANNEL: &str = "cairn_changes";
/// Changes a subscriber may fall behind before it gets `Lagged`.
const CAPACITY: usize = 1024;
/// How often the listener checks whether anyone still subscribes.
const CHECK_INTERVAL: Duration = Duration::from_millis(500);
/// How long the listener waits before connecting again after losing the server.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

pub(crate) struct Changes {
    sender: broadcast::Sender<StoreChange>,
    /// This store value's mark on its notices, so the listener skips its own.
    pub(crate) origin: String,
    /// Whether the listener runs; subscribing and the listener's decision to stop
    /// both hold this lock, so a new subscriber is never left unheard.
    listening: Mutex<bool>,
}

impl Changes {
    pub(crate) fn new() -> Self {
        Changes {
            sender: broadcast::channel(CAPACITY).0,
            origin: ulid::Ulid::new().to_string(),
            listening: Mutex::new(false),
        }
    }

    pub(crate) fn announce(&self, change: StoreChange) {
        // An error only means nobody listens.
        let _ = self.sender.send(change);
    }

    pub(crate) fn subscribe(
        self: &Arc<Self>,
        config: &tokio_postgres::Config,
        tls: &MakeRustlsConnect,
    ) -> broadcast::Receiver<StoreChange> {
        let mut listening = self
            .listening
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let receiver = self.sender.subscribe();
        if !*listening {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn(listen(Arc::downgrade(self), config.clone(), tls.clone()));
                    *listening = true;
                }
                // Without the listener only other writers go unannounced.
                Err(e) => tracing::warn!("cannot listen for other writers to the store: {e}"),
            }
        }
        receiver
    }

    /// Whether the listener should stop (nobody subscribes); it then marks itself
    /// stopped under the lock.
    fn nobody_listens(&self) -> bool {
        let mut listening = self
            .listening
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if self.sender.receiver_count() == 0 {
            *listening = false;
            return true;
        }
        false
    }
}

/// Whether the listener should go on: the store still exists and someone listens.
fn still_wanted(changes: &Weak<Changes>) -> Option<Arc<Changes>> {
    let changes = changes.upgrade()?;
    (!changes.nobody_listens()).then_some(changes)
}

async fn listen(changes: Weak<Changes>, config: tokio_postgres::Config, tls: MakeRustlsConnect) {
    let mut reconnected = false;
    loop {
        if still_wanted(&changes).is_none() {
            return;
        }
        match config.connect(tls.clone()).await {
            Ok((client, mut connection)) => {
                let (notices, mut received) = mpsc::unbounded_channel();
                // Drives the connection and hands its notices over.
                let driver = tokio::spawn(async move {
                    let mut messages =
                        futures::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(Ok(message)) = messages.next().await {
                        if let AsyncMessage::Notification(notice) = message
                            && notices.send(notice.payload().to_owned()).is_err()
                        {
                            return;
                        }
                    }
                });
                match client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                    Ok(()) => {
                        if reconnected && let Some(changes) = changes.upgrade() {
                            // Writes while we were away went unheard.
                            changes.announce(cairn_core::StoreChange::External);
                        }
                        let mut check = tokio::time::interval(CHECK_INTERVAL);
                        loop {
                            tokio::select! {
                                notice = received.recv() => {
                                    let Some(origin) = notice else { break };
                                    let Some(changes) = changes.upgrade() else { break };
                                    if origin != changes.origin {
                                        changes.announce(StoreChange::External);
                                    }
                                }
                                _ = check.tick() => {
                                    if still_wanted(&changes).is_none() {
                                        driver.abort();
                                        return;
                                    }
                                }
                            }
                        }
                    }
                    Err(e) => tracing::debug!("store listener: LISTEN failed: {e}"),
                }
                driver.abort();
            }
            Err(e) => tracing::debug!("store listener: cannot connect: {e}"),
        }
        reconnected = true;
        tokio::time::sleep(RECONNECT_DELAY).await;
    }
}
