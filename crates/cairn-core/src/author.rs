//! Who wrote a row: `user@host` of the process, recorded by the store with every
//! event, checkpoint and pool signal, so a team sharing one store can tell whose
//! agent did what. It identifies, it does not authenticate: access control is the
//! database's (roles and grants).

use std::sync::OnceLock;

/// Longest author kept (a hostile `USER` must not bloat every row).
const MAX_AUTHOR_BYTES: usize = 128;

/// `user@host` of this process, computed once.
pub fn current() -> &'static str {
    static AUTHOR: OnceLock<String> = OnceLock::new();
    AUTHOR.get_or_init(|| {
        let user = ["USER", "LOGNAME"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
            .unwrap_or_else(|| "unknown".to_owned());
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .filter(|h| !h.trim().is_empty())
            .unwrap_or_else(|| "localhost".to_owned());
        tidy(&format!("{}@{}", user.trim(), host.trim()))
    })
}

/// Printable, single-line and bounded.
fn tidy(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > MAX_AUTHOR_BYTES {
            break;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_author_is_user_at_host_printable_and_bounded() {
        let author = current();
        assert!(author.contains('@'), "{author}");
        assert!(!author.chars().any(char::is_control));
        assert_eq!(tidy("ann\n\u{1b}[31m@laptop"), "ann[31m@laptop");
        assert_eq!(tidy(&"x".repeat(500)).len(), MAX_AUTHOR_BYTES);
    }
}
