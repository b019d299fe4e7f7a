//! MCP resources: `cairn://sessions` (every session, JSON),
//! `cairn://session/{name}` (where-was-I for one session, markdown) and
//! `cairn://progress/{session_id}` (every checkpoint of a session id, JSON).
//! Session ids are percent-encoded in URIs (they are free text).

use cairn_app::resume_brief::{self, WhereQuery};
use cairn_app::{progress, sessions};
use cairn_core::{Store, Timestamp};
use rmcp::ErrorData;
use rmcp::model::{
    ListResourceTemplatesResult, ListResourcesResult, ReadResourceResult, Resource,
    ResourceContents, ResourceTemplate,
};
use serde_json::json;

pub(crate) const SESSIONS_URI: &str = "cairn://sessions";
pub(crate) const SESSION_PREFIX: &str = "cairn://session/";
pub(crate) const PROGRESS_PREFIX: &str = "cairn://progress/";
/// Sessions listed as concrete resources (the templates reach any other).
const LISTED: u32 = 50;

fn internal(e: cairn_core::Error) -> ErrorData {
    ErrorData::internal_error(e.to_string(), None)
}

pub(crate) async fn list(store: &dyn Store) -> Result<ListResourcesResult, ErrorData> {
    let mut resources = vec![
        Resource::new(SESSIONS_URI, "sessions")
            .with_title("All sessions")
            .with_description("Chat sessions and checkpoint session ids, newest first (JSON)")
            .with_mime_type("application/json"),
    ];
    let listed = sessions::list(store, None, LISTED)
        .await
        .map_err(internal)?;
    for s in listed.sessions {
        let encoded = encode(&s.id);
        if s.kind == sessions::Kind::Chat {
            resources.push(
                Resource::new(
                    format!("{SESSION_PREFIX}{encoded}"),
                    format!("session {}", s.id),
                )
                .with_description(format!("Where was I in chat session {}", s.id))
                .with_mime_type("text/markdown"),
            );
        } else {
            resources.push(
                Resource::new(
                    format!("{PROGRESS_PREFIX}{encoded}"),
                    format!("progress {}", s.id),
                )
                .with_description(format!("Every checkpoint of {}", s.id))
                .with_mime_type("application/json"),
            );
        }
    }
    Ok(ListResourcesResult::with_all_items(resources))
}

pub(crate) fn templates() -> ListResourceTemplatesResult {
    ListResourceTemplatesResult::with_all_items(vec![
        ResourceTemplate::new(format!("{SESSION_PREFIX}{{name}}"), "session")
            .with_title("Where was I in a session")
            .with_description(
                "The latest checkpoint and resume brief of a chat session or checkpoint session id",
            )
            .with_mime_type("text/markdown"),
        ResourceTemplate::new(format!("{PROGRESS_PREFIX}{{session_id}}"), "progress")
            .with_title("Checkpoints of a session id")
            .with_description("Every checkpoint saved under a session id, oldest first (JSON)")
            .with_mime_type("application/json"),
    ])
}

pub(crate) async fn read(store: &dyn Store, uri: &str) -> Result<ReadResourceResult, ErrorData> {
    let not_found =
        || ErrorData::resource_not_found(format!("no resource {uri}"), Some(json!({ "uri": uri })));
    let text = |mime: &str, text: String| {
        let mut contents = ResourceContents::text(text, uri);
        if let ResourceContents::TextResourceContents { mime_type, .. } = &mut contents {
            *mime_type = Some(mime.to_owned());
        }
        ReadResourceResult::new(vec![contents])
    };
    if uri == SESSIONS_URI {
        let listed = sessions::list(store, None, 200).await.map_err(internal)?;
        let body = serde_json::to_string_pretty(&json!({ "sessions": listed.sessions }))
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        return Ok(text("application/json", body));
    }
    if let Some(raw) = uri.strip_prefix(SESSION_PREFIX) {
        let id = decode(raw).ok_or_else(not_found)?;
        let now = Timestamp::now();
        let query = WhereQuery {
            session_id: Some(id),
            ..WhereQuery::default()
        };
        let found = resume_brief::where_was_i(store, &query, now)
            .await
            .map_err(internal)?
            .ok_or_else(not_found)?;
        return Ok(text("text/markdown", found.to_markdown(now)));
    }
    if let Some(raw) = uri.strip_prefix(PROGRESS_PREFIX) {
        let id = decode(raw).ok_or_else(not_found)?;
        let read = progress::get(store, &id, &progress::Rounds::All)
            .await
            .map_err(internal)?;
        if !read.found {
            return Err(not_found());
        }
        let body = serde_json::to_string_pretty(
            &json!({ "session_id": id, "checkpoints": read.checkpoints }),
        )
        .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        return Ok(text("application/json", body));
    }
    Err(not_found())
}

/// Percent-encode everything but unreserved URI characters.
pub(crate) fn encode(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Undo [`encode`]; `None` for a malformed escape or bytes that are not UTF-8.
pub(crate) fn decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = raw.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let text = String::from_utf8(out).ok()?;
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_uris() {
        for id in ["auth-v2", "my work/2 ünï", "a%b"] {
            assert_eq!(decode(&encode(id)).as_deref(), Some(id));
        }
        assert_eq!(encode("a b"), "a%20b");
        assert!(decode("%zz").is_none());
        assert!(decode("").is_none());
    }
}
