//! zstd contexts with a dictionary loaded, shared by the process's threads.
//!
//! Loading a dictionary into a context builds tables (~0.2 ms and ~0.4 MB for the
//! body dictionary at the writes' level), so a context is kept for the next frame.
//! Store calls run on whichever thread of a blocking pool is free: a context kept
//! per thread was loaded again on each new thread (twice before the first byte of
//! some `run --resume`s) and held once per thread in a daemon with dozens of them.
//! Here a thread takes a context out of the pool while it uses it and puts it back:
//! one per key while calls do not overlap, one per concurrent call when they do.

use std::sync::Mutex;

use crate::connections::lock;

pub(crate) struct Pool<K, C> {
    idle: Mutex<Vec<(K, C)>>,
    /// Contexts kept idle at most; the least recently returned goes first.
    keep: usize,
}

impl<K, C> Pool<K, C> {
    pub(crate) const fn new(keep: usize) -> Self {
        Pool {
            idle: Mutex::new(Vec::new()),
            keep,
        }
    }

    /// Runs `work` on an idle context whose key `matches`, or on one `load` makes
    /// (`None` when it cannot), and keeps the context for the next call.
    pub(crate) fn with<T, E>(
        &self,
        matches: impl Fn(&K) -> bool,
        load: impl FnOnce() -> Result<(K, C), E>,
        work: impl FnOnce(&mut C) -> T,
    ) -> Result<T, E> {
        let taken = {
            let mut idle = lock(&self.idle);
            idle.iter()
                .rposition(|(key, _)| matches(key))
                .map(|at| idle.remove(at))
        };
        let (key, mut context) = match taken {
            Some(entry) => entry,
            None => load()?,
        };
        let value = work(&mut context);
        let mut idle = lock(&self.idle);
        if idle.len() >= self.keep {
            idle.remove(0);
        }
        idle.push((key, context));
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_context_is_loaded_once_for_every_thread_that_uses_it_in_turn() {
        static LOADS: AtomicUsize = AtomicUsize::new(0);
        let pool: Pool<u32, Vec<u32>> = Pool::new(4);
        let load = || {
            LOADS.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>((7, Vec::new()))
        };
        for round in 0..3 {
            std::thread::scope(|s| {
                s.spawn(|| pool.with(|k| *k == 7, load, |c| c.push(round)))
                    .join()
                    .unwrap()
                    .unwrap();
            });
        }
        assert_eq!(
            LOADS.load(Ordering::SeqCst),
            1,
            "one load for three threads"
        );
        let seen = pool.with(|k| *k == 7, load, |c| c.clone()).unwrap();
        assert_eq!(seen, vec![0, 1, 2], "the same context each time");
    }

    #[test]
    fn overlapping_calls_get_a_context_each_and_the_pool_keeps_a_bounded_few() {
        let pool: Pool<u32, u32> = Pool::new(2);
        let nested = pool
            .with(
                |k| *k == 1,
                || Ok::<_, ()>((1, 10)),
                |outer| {
                    // The outer context is out of the pool: this call loads its own.
                    pool.with(
                        |k| *k == 1,
                        || Ok::<_, ()>((1, 20)),
                        |inner| *inner + *outer,
                    )
                },
            )
            .unwrap()
            .unwrap();
        assert_eq!(nested, 30);
        pool.with(|k| *k == 2, || Ok::<_, ()>((2, 30)), |_| ())
            .unwrap();
        assert_eq!(lock(&pool.idle).len(), 2, "the oldest context let go");
        let failed = pool.with(|k| *k == 3, || Err::<(u32, u32), _>("no"), |_| ());
        assert_eq!(failed, Err("no"));
    }
}
