//! Session names (ARCHITECTURE.md invariant 5).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Error;

/// The rule, stated the way refusals state it.
pub const NAME_RULE: &str = "a name is 1 to 128 characters: letters, digits, '.', '_' or '-', \
     starting with a letter or digit (regex ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$)";

/// A validated session name. It is only ever a key in the store, never a path.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SessionName(String);

impl SessionName {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        if let Some(reason) = refusal(raw) {
            return Err(Error::InvalidName(format!(
                "invalid session name {}: {reason}; {NAME_RULE}",
                printable(raw)
            )));
        }
        Ok(SessionName(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The longest session name, in characters (names are ASCII).
pub const MAX_NAME_CHARS: usize = 128;

fn refusal(raw: &str) -> Option<&'static str> {
    let bytes = raw.as_bytes();
    let Some(first) = bytes.first() else {
        return Some("it is empty");
    };
    if bytes.len() > MAX_NAME_CHARS {
        return Some("it is longer than 128 characters");
    }
    if !first.is_ascii_alphanumeric() {
        return Some("it must start with a letter or digit");
    }
    if bytes
        .iter()
        .any(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')))
    {
        return Some("it contains a character that is not allowed");
    }
    None
}

/// Quote a refused name so that control characters and NULs are visible.
fn printable(raw: &str) -> String {
    if raw.is_empty() {
        return "\"\"".to_owned();
    }
    let shown: String = raw.chars().take(64).collect();
    let mut quoted = format!("{shown:?}");
    if raw.chars().count() > 64 {
        quoted.push('…');
    }
    quoted
}

impl TryFrom<String> for SessionName {
    type Error = Error;
    fn try_from(value: String) -> Result<Self, Error> {
        SessionName::parse(&value)
    }
}

impl From<SessionName> for String {
    fn from(value: SessionName) -> Self {
        value.0
    }
}

impl fmt::Display for SessionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for SessionName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        SessionName::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_rule() {
        for ok in ["a", "auth-refactor", "A.b_c-1", "9", &"x".repeat(128)] {
            assert!(SessionName::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_hostile_names_with_the_rule() {
        let long = "y".repeat(200);
        for bad in [
            "",
            "a/b",
            "..",
            "../etc",
            "a\0b",
            "with space",
            ".hidden",
            "-flag",
            long.as_str(),
            "é",
        ] {
            let err = SessionName::parse(bad).expect_err(bad).to_string();
            assert!(err.contains("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"), "{err}");
        }
        let err = SessionName::parse("").unwrap_err().to_string();
        assert!(err.contains("empty"), "{err}");
    }
}
