//! Where a blocking store (SQLite) runs a transaction. By default it hands each
//! one to tokio's blocking pool, so the async worker that called stays free for
//! other tasks. A caller with nothing else to run meanwhile can ask for short
//! calls to run on its own thread instead: `cairn mcp` over stdio answers one
//! client on a one-thread runtime, and there the hand-off (a wake-up of a pool
//! thread and one of the runtime thread per call) costs more than a short
//! transaction. A server of many clients (`cairn mcp --http`) can ask for the
//! calling thread only while the store is free: a write that would wait for
//! another transaction's lock goes to the pool instead, so no async worker ever
//! sleeps on a lock.

use std::future::Future;

/// How a task asked its store calls to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallingThread {
    /// Always on the calling thread, waiting for locks there if need be.
    Always,
    /// On the calling thread when it needs no wait; else on the blocking pool.
    WhenFree,
}

tokio::task_local! {
    static ON_CALLING_THREAD: CallingThread;
}

/// Runs `work` with its store calls on the calling thread (for calls known to
/// be short: each blocks the thread, and so every other task of a one-thread
/// runtime, until its transaction ends).
pub async fn on_calling_thread<F: Future>(work: F) -> F::Output {
    ON_CALLING_THREAD.scope(CallingThread::Always, work).await
}

/// Runs `work` with its store calls on the calling thread while they need not
/// wait for a lock (short calls on a runtime that serves other tasks too).
pub async fn on_calling_thread_when_free<F: Future>(work: F) -> F::Output {
    ON_CALLING_THREAD.scope(CallingThread::WhenFree, work).await
}

/// Whether the current task asked for [`on_calling_thread`].
pub fn wants_calling_thread() -> bool {
    calling_thread().is_some()
}

/// What the current task asked for, if anything.
pub fn calling_thread() -> Option<CallingThread> {
    ON_CALLING_THREAD.try_with(|mode| *mode).ok()
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
        assert_eq!(
            on_calling_thread_when_free(async { calling_thread() }).await,
            Some(CallingThread::WhenFree)
        );
        assert_eq!(
            on_calling_thread(async { calling_thread() }).await,
            Some(CallingThread::Always)
        );
    }
}
