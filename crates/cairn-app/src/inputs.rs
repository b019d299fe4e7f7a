//! The inputs of the operations, as agents send them (the MCP tools' arguments
//! today, the HTTP API's bodies next). One type per operation: serde reads it,
//! checking every bound, and (feature `schema`) schemars describes it from the
//! same fields, so the schema a client sees and the checks it meets cannot drift.
//!
//! Every refusal names the field and the rule (`` `summary` is 70000 bytes; the
//! limit is 64 KiB (65536 bytes) ``), so that a model can correct its call.
//! Unknown fields are ignored, as before: clients add their own.

use cairn_core::PoolAction;
use cairn_core::list_param::{self, MAX_ID_BYTES, MAX_SUMMARY_BYTES};
use serde::Deserialize;
use serde::de::{Deserializer, Error as _};
use serde_json::Value;

/// Default and largest `limit` of the listing operations.
pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 200;
/// The longest project path an input may carry.
pub const MAX_PATH_BYTES: usize = 4096;
/// The longest search query.
pub const MAX_QUERY_BYTES: usize = 1024;

/// `save_progress`: one checkpoint.
#[derive(Clone, Debug, Deserialize)]
#[serde(remote = "Self")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(title = "SaveProgress"))]
pub struct SaveProgress {
    /// Any id you choose for this piece of work, e.g. `project-auth-v2`; reuse it to add rounds.
    #[serde(deserialize_with = "id")]
    pub session_id: String,
    /// What was done and where things stand (at most 64 KiB).
    #[serde(deserialize_with = "summary")]
    pub summary: String,
    /// Files created or changed.
    #[serde(default, deserialize_with = "list_param::deserialize_list")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "list_param::list_schema"))]
    pub files_touched: Vec<String>,
    /// Decisions taken, so that the next session does not re-debate them.
    #[serde(default, deserialize_with = "list_param::deserialize_list")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "list_param::list_schema"))]
    pub decisions_made: Vec<String>,
    /// What to do next, in order.
    #[serde(default, deserialize_with = "list_param::deserialize_list")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "list_param::list_schema"))]
    pub next_steps: Vec<String>,
    /// The round this checkpoint belongs to; default: the next round number of the session id.
    #[serde(default, deserialize_with = "round_id")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::round_id"))]
    pub round_id: Option<String>,
    /// Project directory; default: the server's project.
    #[serde(default, deserialize_with = "path")]
    pub project: Option<String>,
}

/// `where_was_i`: the most recent session, or one.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(remote = "Self")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(title = "WhereWasI"))]
pub struct WhereWasI {
    /// A checkpoint session id or a cairn chat session name; default: the most recent session across all projects.
    #[serde(default, deserialize_with = "round_id")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::string"))]
    pub session_id: Option<String>,
    /// Only sessions saved by this client (its MCP clientInfo name).
    #[serde(default, deserialize_with = "client")]
    pub client: Option<String>,
}

/// `get_progress`: read the checkpoints of a session id.
#[derive(Clone, Debug, Deserialize)]
#[serde(remote = "Self")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(title = "GetProgress"))]
pub struct GetProgress {
    /// The session id used with save_progress.
    #[serde(deserialize_with = "id")]
    pub session_id: String,
    /// One round only.
    #[serde(default, deserialize_with = "round_id")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::round_id"))]
    pub round_id: Option<String>,
    /// true (default): the latest checkpoint; false: every checkpoint, oldest first.
    #[serde(default, deserialize_with = "flag")]
    pub latest: Option<bool>,
}

/// `pool_signal`: tell the other agents of a project what you do.
#[derive(Clone, Debug, Deserialize)]
#[serde(remote = "Self")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(title = "PoolSignal"))]
pub struct PoolSignal {
    /// One of: claimed, started, progress, completed, blocked, unblocked, released, handoff, signaling.
    #[serde(deserialize_with = "action")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::action"))]
    pub action: PoolAction,
    /// What the signal is about, e.g. `auth-refresh` (one line).
    #[serde(deserialize_with = "id")]
    pub topic: String,
    /// What happened, what blocks you, or the notes for whoever takes over (at most 64 KiB).
    #[serde(deserialize_with = "summary")]
    pub summary: String,
    /// Paths (files or folders, relative to the project root) this work touches.
    #[serde(default, deserialize_with = "list_param::deserialize_list")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "list_param::list_schema"))]
    pub affects: Vec<String>,
    /// Your checkpoint session id, if any.
    #[serde(default, deserialize_with = "round_id")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::string"))]
    pub session_id: Option<String>,
    /// Project directory; default: the server's project.
    #[serde(default, deserialize_with = "path")]
    pub project: Option<String>,
}

/// `pool_status`: who works on what.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(remote = "Self")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(title = "PoolStatus"))]
pub struct PoolStatus {
    /// Every project instead of the current one.
    #[serde(default, deserialize_with = "flag")]
    pub all_projects: Option<bool>,
    /// Project directory; default: the server's project.
    #[serde(default, deserialize_with = "path")]
    pub project: Option<String>,
}

/// `list_sessions`: sessions, newest activity first.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(remote = "Self")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(title = "ListSessions"))]
pub struct ListSessions {
    /// Only this project directory; default: every project.
    #[serde(default, deserialize_with = "path")]
    pub project: Option<String>,
    /// At most this many of each kind (1–200, default 20).
    #[serde(default, deserialize_with = "limit")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::limit"))]
    pub limit: Option<u32>,
}

/// `search_sessions`: full-text search.
#[derive(Clone, Debug, Deserialize)]
#[serde(remote = "Self")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(title = "SearchSessions"))]
pub struct SearchSessions {
    /// Words to find in chat messages and checkpoints.
    #[serde(deserialize_with = "query")]
    pub query: String,
    /// At most this many hits (1–200, default 20).
    #[serde(default, deserialize_with = "limit")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::limit"))]
    pub limit: Option<u32>,
}

/// `fork_session`: fork a cairn chat session without copying its history.
#[derive(Clone, Debug, Deserialize)]
#[serde(remote = "Self")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(title = "ForkSession"))]
pub struct ForkSession {
    /// The cairn chat session to fork (its name).
    #[serde(deserialize_with = "session_name")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::session_name"))]
    pub session: cairn_core::SessionName,
    /// The new session's name: letters, digits, `.`, `_`, `-`; at most 128 characters.
    #[serde(deserialize_with = "session_name")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::session_name"))]
    pub new_name: cairn_core::SessionName,
    /// The last event (seq) of `session` the fork shares; default: its newest.
    #[serde(default, deserialize_with = "seq")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::seq"))]
    pub at_seq: Option<u64>,
}

/// `recall`: search a cairn chat session's whole history (what compaction replaced
/// included), or read one of its events whole.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(remote = "Self")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(title = "Recall"))]
pub struct Recall {
    /// The cairn chat session (its name); default: the project's most recent session.
    #[serde(default, deserialize_with = "optional_session_name")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::session_name"))]
    pub session: Option<cairn_core::SessionName>,
    /// Words to find (every word must occur). Give `query` or `seq`.
    #[serde(default, deserialize_with = "optional_query")]
    pub query: Option<String>,
    /// Read this one event (by its seq) whole instead of searching.
    #[serde(default, deserialize_with = "seq")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::seq"))]
    pub seq: Option<u64>,
    /// With `seq`: the byte to read on from, as a cut result says.
    #[serde(default, deserialize_with = "seq")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::seq"))]
    pub offset: Option<u64>,
    /// `session` (default: the session's whole history) or `project` (every session of its project).
    #[serde(default, deserialize_with = "recall_scope")]
    pub scope: Option<crate::recall::RecallScope>,
    /// At most this many hits (1–50, default 10).
    #[serde(default, deserialize_with = "limit")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::recall_limit"))]
    pub limit: Option<u32>,
}

/// The `resume` prompt's arguments.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(remote = "Self")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(title = "Resume"))]
pub struct Resume {
    /// A checkpoint session id or chat session name; default: the most recent session.
    #[serde(default, deserialize_with = "client")]
    pub session_id: Option<String>,
}

/// The serde impls of the inputs: the derived (`remote = "Self"`) ones, run
/// through `serde_path_to_error` so that a refusal names its field.
macro_rules! inputs_naming_their_fields {
    ($($input:ty),* $(,)?) => {$(
        impl<'de> Deserialize<'de> for $input {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let mut track = serde_path_to_error::Track::new();
                let tracked = serde_path_to_error::Deserializer::new(deserializer, &mut track);
                <$input>::deserialize(tracked).map_err(|e| name_the_field(&track.path(), e))
            }
        }
    )*};
}

inputs_naming_their_fields!(
    SaveProgress,
    WhereWasI,
    GetProgress,
    PoolSignal,
    PoolStatus,
    ListSessions,
    SearchSessions,
    ForkSession,
    Recall,
    Resume,
);

/// "`summary` is 70000 bytes; …": the field first, then the rule it broke.
fn name_the_field<E: serde::de::Error>(path: &serde_path_to_error::Path, error: E) -> E {
    let message = error.to_string();
    let field = path.to_string();
    if let Some(rest) = message.strip_prefix("missing field ") {
        return E::custom(format!("missing required field {rest}"));
    }
    if field == "." || field.is_empty() {
        return E::custom(message);
    }
    E::custom(format!("`{field}` {message}"))
}

/// A required identifier: a non-empty line of at most 512 bytes, trimmed.
fn id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = string(Value::deserialize(deserializer)?).map_err(D::Error::custom)?;
    list_param::id_reason(&text).map_err(D::Error::custom)?;
    Ok(text.trim().to_owned())
}

/// An optional identifier. Integers are accepted and written as text (agents
/// send `round_id: 3` as often as `"3"`); other numbers are refused.
fn round_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let text = match Value::deserialize(deserializer)? {
        Value::Null => return Ok(None),
        Value::String(text) => text,
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        Value::Number(n) => {
            return Err(D::Error::custom(format!(
                "must be a string or an integer, got the number {n}"
            )));
        }
        other => {
            return Err(D::Error::custom(format!(
                "must be a string or an integer, got {}",
                cairn_core::json_kind::json_kind(&other)
            )));
        }
    };
    list_param::id_reason(&text).map_err(D::Error::custom)?;
    Ok(Some(text.trim().to_owned()))
}

/// A checkpoint's or a signal's summary: required, not blank, at most 64 KiB.
fn summary<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    required_text(Value::deserialize(deserializer)?, MAX_SUMMARY_BYTES).map_err(D::Error::custom)
}

/// A search query: required, not blank, at most 1 KiB.
fn query<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    required_text(Value::deserialize(deserializer)?, MAX_QUERY_BYTES).map_err(D::Error::custom)
}

/// An optional search query: blank is none, at most 1 KiB.
fn optional_query<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    optional_text(Value::deserialize(deserializer)?, MAX_QUERY_BYTES).map_err(D::Error::custom)
}

/// An optional session name; blank is none.
fn optional_session_name<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<cairn_core::SessionName>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => cairn_core::SessionName::parse(s.trim())
            .map(Some)
            .map_err(D::Error::custom),
        other => Err(D::Error::custom(must_be("a session name", &other))),
    }
}

/// `session` or `project`.
fn recall_scope<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<crate::recall::RecallScope>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        Value::String(s) => crate::recall::RecallScope::parse(&s)
            .map(Some)
            .ok_or_else(|| {
                D::Error::custom(format!("must be \"session\" or \"project\", got {s:?}"))
            }),
        other => Err(D::Error::custom(must_be(
            "\"session\" or \"project\"",
            &other,
        ))),
    }
}

/// A project directory; blank is the default.
fn path<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    optional_text(Value::deserialize(deserializer)?, MAX_PATH_BYTES).map_err(D::Error::custom)
}

/// A client name or a prompt's session id; blank is none.
fn client<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    optional_text(Value::deserialize(deserializer)?, MAX_ID_BYTES).map_err(D::Error::custom)
}

/// A pool action by name; the refusal lists the actions.
fn action<'de, D: Deserializer<'de>>(deserializer: D) -> Result<PoolAction, D::Error> {
    let raw = string(Value::deserialize(deserializer)?).map_err(D::Error::custom)?;
    PoolAction::parse(raw.trim()).map_err(D::Error::custom)
}

/// A boolean, or `"true"` / `"false"` (some clients send every value as text).
fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b)),
        Value::String(s) if s == "true" || s == "false" => Ok(Some(s == "true")),
        other => Err(D::Error::custom(must_be("a boolean", &other))),
    }
}

/// A session name, checked against the name rule (which the refusal states).
fn session_name<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<cairn_core::SessionName, D::Error> {
    let raw = string(Value::deserialize(deserializer)?).map_err(D::Error::custom)?;
    cairn_core::SessionName::parse(raw.trim()).map_err(D::Error::custom)
}

/// An event seq (a non-negative integer), as a number or as text.
fn seq<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        Value::Number(n) if n.as_u64().is_some() => Ok(n.as_u64()),
        Value::String(s) if s.trim().parse::<u64>().is_ok() => Ok(s.trim().parse().ok()),
        other => Err(D::Error::custom(must_be(
            "a non-negative integer (an event seq)",
            &other,
        ))),
    }
}

/// A listing limit from 1 to [`MAX_LIMIT`], as a number or as text.
fn limit<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    let value = match Value::deserialize(deserializer)? {
        Value::Null => return Ok(None),
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        other => return Err(D::Error::custom(must_be("an integer", &other))),
    };
    match value.and_then(|n| u32::try_from(n).ok()) {
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(Some(n)),
        _ => Err(D::Error::custom(format!(
            "must be an integer from 1 to {MAX_LIMIT}"
        ))),
    }
}

fn string(value: Value) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(text),
        other => Err(must_be("a string", &other)),
    }
}

fn required_text(value: Value, max: usize) -> Result<String, String> {
    let text = string(value)?;
    list_param::text_reason(&text, max)?;
    if text.trim().is_empty() {
        return Err("must not be empty".to_owned());
    }
    Ok(text)
}

fn optional_text(value: Value, max: usize) -> Result<Option<String>, String> {
    if value.is_null() {
        return Ok(None);
    }
    let text = string(value)?;
    list_param::text_reason(&text, max)?;
    Ok(Some(text).filter(|t| !t.trim().is_empty()))
}

fn must_be(expected: &str, got: &Value) -> String {
    format!(
        "must be {expected}, got {}",
        cairn_core::json_kind::json_kind(got)
    )
}

/// The schemas of the fields whose Rust type says less than the check does.
#[cfg(feature = "schema")]
mod schema {
    use schemars::{Schema, SchemaGenerator, json_schema};

    pub(super) fn round_id(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["string", "integer"] })
    }

    pub(super) fn string(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string" })
    }

    pub(super) fn session_name(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$" })
    }

    pub(super) fn seq(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "integer", "minimum": 0 })
    }

    pub(super) fn limit(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "integer",
            "minimum": 1,
            "maximum": super::MAX_LIMIT,
            "default": super::DEFAULT_LIMIT
        })
    }

    pub(super) fn recall_limit(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "integer",
            "minimum": 1,
            "maximum": crate::recall::MAX_RECALL_LIMIT,
            "default": crate::recall::DEFAULT_RECALL_LIMIT
        })
    }

    pub(super) fn action(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = cairn_core::PoolAction::ALL
            .iter()
            .map(|a| a.as_str())
            .collect();
        json_schema!({ "type": "string", "enum": names })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn refusal<T: serde::de::DeserializeOwned + std::fmt::Debug>(value: Value) -> String {
        serde_json::from_value::<T>(value).unwrap_err().to_string()
    }

    #[test]
    fn refusals_name_the_field_and_the_rule() {
        let err = refusal::<SaveProgress>(json!({ "session_id": "s", "summary": 5 }));
        assert_eq!(err, "`summary` must be a string, got a number");
        let err = refusal::<SaveProgress>(
            json!({ "session_id": "s", "summary": "x", "files_touched": ["x".repeat(5000)] }),
        );
        assert!(
            err.starts_with("`files_touched` item 1 is 5000 bytes") && err.contains("4 KiB"),
            "{err}"
        );
        let err = refusal::<SaveProgress>(json!({ "summary": "no id" }));
        assert_eq!(err, "missing required field `session_id`");
        let err = refusal::<SaveProgress>(
            json!({ "session_id": "s", "summary": "s".repeat(MAX_SUMMARY_BYTES + 1) }),
        );
        assert!(
            err.starts_with("`summary` is ") && err.contains("64 KiB"),
            "{err}"
        );
        let err = refusal::<SaveProgress>(json!({ "session_id": "a\nb", "summary": "s" }));
        assert_eq!(
            err,
            "`session_id` must be one line without control characters"
        );
        let err = refusal::<PoolSignal>(json!({ "action": "done", "topic": "t", "summary": "s" }));
        assert!(
            err.starts_with("`action` unknown pool action") && err.contains("claimed"),
            "{err}"
        );
        let err = refusal::<GetProgress>(json!({ "session_id": "x", "latest": 3 }));
        assert_eq!(err, "`latest` must be a boolean, got a number");
    }

    #[test]
    fn lists_accept_arrays_separated_strings_and_arrays_as_strings() {
        let saved: SaveProgress = serde_json::from_value(json!({
            "session_id": " s ", "summary": "x",
            "files_touched": r#"["a.rs","b, c.rs"]"#,
            "decisions_made": ["keep", " "],
            "next_steps": "one, two\nthree",
        }))
        .unwrap();
        assert_eq!(saved.session_id, "s");
        assert_eq!(saved.files_touched, vec!["a.rs", "b, c.rs"]);
        assert_eq!(saved.decisions_made, vec!["keep"]);
        assert_eq!(saved.next_steps, vec!["one", "two", "three"]);
        let none: SaveProgress = serde_json::from_value(
            json!({ "session_id": "s", "summary": "x", "next_steps": null, "extra": 1 }),
        )
        .unwrap();
        assert!(none.next_steps.is_empty() && none.files_touched.is_empty());
    }

    #[test]
    fn round_ids_accept_integers_and_limits_are_checked() {
        let ok: SaveProgress =
            serde_json::from_value(json!({ "session_id": "s", "summary": "x", "round_id": 3 }))
                .unwrap();
        assert_eq!(ok.round_id.as_deref(), Some("3"));
        let err =
            refusal::<SaveProgress>(json!({ "session_id": "s", "summary": "x", "round_id": 1.5 }));
        assert!(
            err.starts_with("`round_id` must be a string or an integer"),
            "{err}"
        );
        let err = refusal::<ListSessions>(json!({ "limit": 0 }));
        assert_eq!(err, "`limit` must be an integer from 1 to 200");
        let err = refusal::<SearchSessions>(json!({ "query": "q", "limit": MAX_LIMIT + 1 }));
        assert!(err.contains("`limit`") && err.contains("200"), "{err}");
        let ok: ListSessions =
            serde_json::from_value(json!({ "limit": "5", "project": " " })).unwrap();
        assert_eq!((ok.limit, ok.project), (Some(5), None));
        let ok: GetProgress =
            serde_json::from_value(json!({ "session_id": "x", "latest": "false" })).unwrap();
        assert_eq!(ok.latest, Some(false));
    }

    #[cfg(feature = "schema")]
    #[test]
    fn schemas_describe_the_checks() {
        let schema = serde_json::to_value(schemars::schema_for!(SaveProgress)).unwrap();
        assert_eq!(schema["required"], json!(["session_id", "summary"]));
        let files = &schema["properties"]["files_touched"];
        assert_eq!(files["anyOf"][0]["type"], "array", "{files}");
        assert_eq!(files["anyOf"][1]["type"], "string", "{files}");
        assert_eq!(
            schema["properties"]["summary"]["description"],
            "What was done and where things stand (at most 64 KiB)."
        );
        let signal = serde_json::to_value(schemars::schema_for!(PoolSignal)).unwrap();
        assert_eq!(signal["properties"]["action"]["enum"][0], "claimed");
        let list = serde_json::to_value(schemars::schema_for!(ListSessions)).unwrap();
        assert_eq!(list["properties"]["limit"]["maximum"], MAX_LIMIT);
    }
}
