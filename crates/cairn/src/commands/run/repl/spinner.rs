//! A spinner while the model has not sent its first byte (or a tool is running).
//! Only on a terminal; it draws with `\r` and spaces, never an escape code, so it
//! is as quiet under NO_COLOR as the rest. It runs on its own thread and takes
//! the same lock to draw and to stop, so once [`Spinner::stop`] returns no frame can
//! land in the middle of the answer.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use unicode_width::UnicodeWidthStr;

const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const TICK: Duration = Duration::from_millis(80);
/// A fast answer should not flash a spinner: draw the first frame after this.
const FIRST_FRAME_AFTER: Duration = Duration::from_millis(120);

#[derive(Debug)]
struct State {
    active: bool,
    /// Columns of the last frame drawn (0: nothing on screen).
    drawn: usize,
}

/// What the drawing thread and `stop` share.
type Shared = Arc<(Mutex<State>, Condvar)>;

/// Starts and stops one spinner line on stdout.
#[derive(Debug)]
pub(super) struct Spinner {
    enabled: bool,
    running: Option<(Shared, JoinHandle<()>)>,
}

impl Spinner {
    /// `enabled` is false when stdout is not a terminal: then nothing is ever drawn.
    pub(super) fn new(enabled: bool) -> Self {
        Spinner {
            enabled,
            running: None,
        }
    }

    #[cfg(test)]
    pub(super) fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Show `label` with a turning wheel and the seconds waited, until `stop`.
    pub(super) fn start(&mut self, label: &str) {
        if !self.enabled {
            return;
        }
        self.stop();
        let shared: Shared = Arc::new((
            Mutex::new(State {
                active: true,
                drawn: 0,
            }),
            Condvar::new(),
        ));
        let label = label.to_owned();
        let thread_shared = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("cairn-spinner".into())
            .spawn(move || spin(&thread_shared, &label));
        // No thread, no spinner: the answer still prints.
        if let Ok(handle) = spawned {
            self.running = Some((shared, handle));
        }
    }

    /// Stop and erase the spinner line. Safe to call when none is running.
    pub(super) fn stop(&mut self) {
        let Some((shared, handle)) = self.running.take() else {
            return;
        };
        {
            let (lock, wake) = &*shared;
            let mut state = lock_state(lock);
            state.active = false;
            if state.drawn > 0 {
                erase(state.drawn);
                state.drawn = 0;
            }
            wake.notify_all();
        }
        let _ = handle.join();
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop();
    }
}

fn spin(shared: &(Mutex<State>, Condvar), label: &str) {
    let (lock, wake) = shared;
    let started = Instant::now();
    let mut state = lock_state(lock);
    // Wait for the first frame, unless stopped before.
    let mut deadline = started + FIRST_FRAME_AFTER;
    let mut frame = 0usize;
    loop {
        let now = Instant::now();
        if now < deadline {
            state = match wake.wait_timeout(state, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
            if !state.active {
                return;
            }
            continue;
        }
        if !state.active {
            return;
        }
        let waited = started.elapsed().as_secs();
        let text = if waited >= 1 {
            format!("{} {label} {waited}s", FRAMES[frame % FRAMES.len()])
        } else {
            format!("{} {label}", FRAMES[frame % FRAMES.len()])
        };
        let width = UnicodeWidthStr::width(text.as_str());
        let mut out = io::stdout().lock();
        // Pad over a longer previous frame, then return to column 0 for the next.
        let pad = state.drawn.saturating_sub(width);
        let _ = write!(out, "\r{text}{}", " ".repeat(pad));
        let _ = out.flush();
        drop(out);
        state.drawn = width.max(state.drawn);
        frame += 1;
        deadline = Instant::now() + TICK;
    }
}

fn erase(columns: usize) {
    let mut out = io::stdout().lock();
    let _ = write!(out, "\r{}\r", " ".repeat(columns));
    let _ = out.flush();
}

fn lock_state(lock: &Mutex<State>) -> MutexGuard<'_, State> {
    lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_spinner_never_runs() {
        let mut spinner = Spinner::new(false);
        spinner.start("waiting");
        assert!(!spinner.is_running());
        spinner.stop();
    }

    #[test]
    fn stop_is_prompt_and_idempotent() {
        let mut spinner = Spinner::new(true);
        spinner.start("waiting");
        assert!(spinner.is_running());
        let before = Instant::now();
        spinner.stop();
        assert!(before.elapsed() < Duration::from_millis(500));
        assert!(!spinner.is_running());
        spinner.stop();
    }
}
