//! How a tool's output reaches the model: whole when short, otherwise its head and
//! tail around a note. Requests are built with it (`cairn-agent`), and the token
//! counts of the live context use it too, so the measure that starts compression
//! counts what is sent, not the whole output the session keeps.

use std::borrow::Cow;

/// Tool output longer than this (bytes) is cut for the model, keeping the head and
/// the tail, with a note; the session keeps the whole output.
pub const MODEL_OUTPUT_LIMIT: usize = 32 * 1024;

/// `content` as the model receives it: whole when short, otherwise the head and the
/// tail around a note saying how much was left out. Deterministic, so a resumed
/// session sends the same prompt (and hits the provider's prompt cache).
pub fn for_model(content: &str) -> Cow<'_, str> {
    if content.len() <= MODEL_OUTPUT_LIMIT {
        return Cow::Borrowed(content);
    }
    let head_end = floor_char_boundary(content, MODEL_OUTPUT_LIMIT * 3 / 4);
    let tail_start = ceil_char_boundary(content, content.len() - MODEL_OUTPUT_LIMIT / 4);
    let omitted = tail_start - head_end;
    Cow::Owned(format!(
        "{}\n\n[cairn: {omitted} of {} bytes of this output are left out here; the whole \
         output is stored in the session. Ask for a narrower range or filter if you need \
         the middle.]\n\n{}",
        &content[..head_end],
        content.len(),
        &content[tail_start..]
    ))
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char_boundary(s: &str, mut i: usize) -> usize {
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i
}
