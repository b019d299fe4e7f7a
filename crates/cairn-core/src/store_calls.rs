//! Where a blocking store (SQLite) runs a transaction. By default it hands each
//! one to tokio's blocking pool, so the async worker that called stays free for
//! other tasks. A caller with nothing else to run meanwhile can ask for short
//! calls to run on its own thread instead: `cairn mcp` over stdio answers one
//! client on a one-thread runtime, and there the hand-off (a wake-up of a pool
//! thread and one of the runtime thread per call) costs more than a short
//! transaction.

use std::future::Future;

tokio::task_local! {
    static ON_CALLING_THREAD: ();
}

/// Runs `work` with its store calls on the calling thread (for calls known to
/// be short: each blocks the thread, and so every other task of a one-thread
/// runtime, until its transaction ends).
pub async fn on_calling_thread<F: Future>(work: F) -> F::Output {
    ON_CALLING_THREAD.scope((), work).await
}

/// Whether the current task asked for [`on_calling_thread`].
pub fn wants_calling_thread() -> bool {
    ON_CALLING_THREAD.try_with(|()| ()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_work_inside_the_scope_asks_for_the_calling_thread() {
        assert!(!wants_calling_thread());
        assert!(on_calling_thread(async { wants_calling_thread() }).await);
        // A spawned task is not inside its spawner's scope.
        let spawned =
            on_calling_thread(async { tokio::spawn(async { wants_calling_thread() }).await });
        assert!(!spawned.await.unwrap());
    }
}
