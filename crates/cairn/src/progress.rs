//! Progress on stderr for operations that can take more than a second: drawn only
//! when stderr is a terminal and the output is not `--json`, so pipes, scripts and
//! tests see nothing of it.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether progress may be drawn at all.
fn shown(json: bool) -> bool {
    !json && std::io::stderr().is_terminal()
}

/// A bar over `len` steps (`{pos}/{len}`), hidden unless [`shown`].
pub(crate) fn bar(len: u64, json: bool) -> ProgressBar {
    if !shown(json) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
        bar.set_style(style);
    }
    bar
}

/// A spinner with the time spent, for work whose length is not known up front.
pub(crate) fn spinner(message: String, json: bool) -> ProgressBar {
    if !shown(json) {
        return ProgressBar::hidden();
    }
    let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        spinner.set_style(style);
    }
    spinner.set_message(message);
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}
