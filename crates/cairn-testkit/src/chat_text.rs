//! Short, varied chat lines over a small vocabulary, like a long session's
//! messages: enough repetition for a zstd dictionary to learn, enough variety that
//! the bodies differ.

const WORDS: &[&str] = &[
    "lease",
    "refresh",
    "token",
    "rotate",
    "parser",
    "module",
    "config",
    "retry",
    "socket",
    "bounded",
    "queue",
    "migration",
    "index",
    "cursor",
    "snapshot",
    "checksum",
];

/// Line `i` of a chat; a different `salt` picks other words for the same `i`.
pub fn step(i: usize, salt: usize) -> String {
    let pick = |k: usize| WORDS[(i * 7 + k * 13 + salt) % WORDS.len()];
    format!(
        "Step {i}: check the {} {} before the {} {} (try {}).",
        pick(1),
        pick(2),
        pick(3),
        pick(4),
        i % 17
    )
}
