//! `events.kind` and `events.role` on disk (issue 15): the known kinds
//! (`Payload::kind`) and every `Role` as a small integer, an unknown kind
//! (`Payload::Other`, e.g. `rewind`) as its text. The columns have no type
//! affinity, so SQLite keeps each value's class: an integer is a code, text is a
//! name (rows written before schema 18 that the migration could not code, none
//! today, would read as names too).
//!
//! These tables are part of the file format: a code is never renumbered nor
//! reused; a new kind or role gets the next free number. The commonest values
//! have 0 and 1, which SQLite stores in a row's header alone (no value bytes).

use std::borrow::Cow;

use cairn_core::Role;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};

/// (code, kind) of every known kind.
const KINDS: [(i64, &str); 7] = [
    (0, "message"),
    (1, "knowledge"),
    (2, "compaction"),
    (3, "command"),
    (4, "error"),
    (5, "hint"),
    (6, "compression"),
];

/// (code, role) of every role.
const ROLES: [(i64, Role); 4] = [
    (0, Role::Assistant),
    (1, Role::Tool),
    (2, Role::User),
    (3, Role::System),
];

/// The code of the compaction kind, for SQL that leaves compactions out.
pub(crate) const COMPACTION: i64 = 2;

fn kind_code(kind: &str) -> Option<i64> {
    KINDS
        .iter()
        .find(|(_, name)| *name == kind)
        .map(|(code, _)| *code)
}

fn role_code(role: Role) -> Option<i64> {
    ROLES
        .iter()
        .find(|(_, known)| *known == role)
        .map(|(code, _)| *code)
}

/// What `events.kind` keeps for `kind`: its code, or its text when unknown.
pub(crate) fn kind_column(kind: &str) -> ToSqlOutput<'_> {
    match kind_code(kind) {
        Some(code) => ToSqlOutput::Owned(Value::Integer(code)),
        None => ToSqlOutput::Borrowed(ValueRef::Text(kind.as_bytes())),
    }
}

/// What `events.role` keeps for `role`: its code (every role has one; its
/// text otherwise, as for kinds).
pub(crate) fn role_column(role: Role) -> Value {
    role_code(role).map_or_else(|| Value::Text(role.as_str().into()), Value::Integer)
}

/// The kind a stored `events.kind` names.
pub(crate) fn kind_of(value: ValueRef<'_>) -> Result<Cow<'_, str>, String> {
    match value {
        ValueRef::Integer(code) => KINDS
            .iter()
            .find(|(known, _)| *known == code)
            .map(|(_, name)| Cow::Borrowed(*name))
            .ok_or_else(|| format!("unknown event kind code {code}")),
        ValueRef::Text(bytes) => std::str::from_utf8(bytes)
            .map(Cow::Borrowed)
            .map_err(|e| format!("event kind is not UTF-8: {e}")),
        other => Err(format!("event kind has type {:?}", other.data_type())),
    }
}

/// The role a stored `events.role` names; `None` for none (not a message) or
/// one this version does not know.
pub(crate) fn role_of(value: ValueRef<'_>) -> Option<Role> {
    match value {
        ValueRef::Integer(code) => ROLES
            .iter()
            .find(|(known, _)| *known == code)
            .map(|(_, role)| *role),
        ValueRef::Text(bytes) => std::str::from_utf8(bytes).ok().and_then(Role::parse),
        _ => None,
    }
}

/// Migration step 18: the code of a kind written as text; `None` (the value
/// stays as it is) for any other value.
pub(crate) fn recode(value: ValueRef<'_>) -> Option<i64> {
    let ValueRef::Text(bytes) = value else {
        return None;
    };
    kind_code(std::str::from_utf8(bytes).ok()?)
}

/// The same for `events.role`.
pub(crate) fn recode_role(value: ValueRef<'_>) -> Option<i64> {
    let ValueRef::Text(bytes) = value else {
        return None;
    };
    role_code(Role::parse(std::str::from_utf8(bytes).ok()?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Codes are unique, and every known kind and role reads back as itself.
    #[test]
    fn every_code_names_one_kind_or_role_and_back() {
        for (code, name) in KINDS {
            assert_eq!(KINDS.iter().filter(|(c, _)| *c == code).count(), 1);
            assert!(
                matches!(kind_column(name), ToSqlOutput::Owned(Value::Integer(c)) if c == code)
            );
            assert_eq!(kind_of(ValueRef::Integer(code)).unwrap(), name);
            assert_eq!(recode(ValueRef::Text(name.as_bytes())), Some(code));
        }
        assert_eq!(
            kind_of(ValueRef::Integer(COMPACTION)).unwrap(),
            "compaction"
        );
        for (code, role) in ROLES {
            assert_eq!(ROLES.iter().filter(|(c, _)| *c == code).count(), 1);
            assert_eq!(role_column(role), Value::Integer(code));
            assert_eq!(role_of(ValueRef::Integer(code)), Some(role));
            assert_eq!(
                recode_role(ValueRef::Text(role.as_str().as_bytes())),
                Some(code)
            );
        }
        for role in [Role::System, Role::User, Role::Assistant, Role::Tool] {
            assert!(matches!(role_column(role), Value::Integer(_)), "{role:?}");
        }
        // Unknown kinds stay text; a kind's code is not read as a role's.
        assert!(matches!(
            kind_column("rewind"),
            ToSqlOutput::Borrowed(ValueRef::Text(b"rewind"))
        ));
        assert_eq!(recode(ValueRef::Text(b"rewind")), None);
        assert_eq!(recode(ValueRef::Integer(0)), None);
        assert_eq!(recode_role(ValueRef::Null), None);
        assert!(kind_of(ValueRef::Integer(99)).is_err());
    }
}
