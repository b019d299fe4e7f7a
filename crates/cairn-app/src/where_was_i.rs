//! "Where was I?" as one operation: the brief of `resume_brief.rs`, or, when
//! nothing matches, a message true to the query (a client filter that matched
//! nothing points at what other clients saved).

use cairn_core::{Result, Store, Timestamp};
use serde::Serialize;

use crate::resume_brief::{self, WhereQuery, WhereWasI};

/// The answer: the brief when found, else a message saying why not.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WhereWasIResult {
    pub found: bool,
    /// Set when nothing was found.
    pub message: Option<String>,
    #[serde(flatten)]
    pub brief: Option<WhereWasI>,
}

/// Find the session of `query` and its brief.
pub async fn where_was_i(
    store: &dyn Store,
    query: &WhereQuery,
    now: Timestamp,
) -> Result<WhereWasIResult> {
    if let Some(brief) = resume_brief::where_was_i(store, query, now).await? {
        return Ok(WhereWasIResult {
            found: true,
            message: None,
            brief: Some(brief),
        });
    }
    Ok(WhereWasIResult {
        found: false,
        message: Some(nothing_found(store, query, now).await?),
        brief: None,
    })
}

/// Why nothing was found for `query`.
async fn nothing_found(store: &dyn Store, query: &WhereQuery, now: Timestamp) -> Result<String> {
    let Some(client) = &query.client else {
        return Ok(match &query.session_id {
            Some(id) => format!("No session found with id `{id}`."),
            None => "No session found: nothing has been saved yet.".to_owned(),
        });
    };
    let unfiltered = WhereQuery {
        client: None,
        ..query.clone()
    };
    let others = resume_brief::where_was_i(store, &unfiltered, now).await?;
    let nothing = match &query.session_id {
        Some(id) => format!("Client `{client}` saved nothing under session id `{id}`."),
        None => format!("Client `{client}` has saved nothing yet."),
    };
    Ok(match others {
        None => format!("{nothing} No other client has saved anything either."),
        Some(other) => {
            let by = other
                .latest_checkpoint
                .as_ref()
                .and_then(|c| c.client.as_deref())
                .map(|c| format!(" by client `{c}`"))
                .unwrap_or_default();
            format!(
                "{nothing} Other sessions were saved: the most recent is `{}`{by} (project {}, {}). \
Call where_was_i(session_id=\"{}\") to read it, or where_was_i() for the latest of any client.",
                other.session_id, other.project, other.last_activity, other.session_id
            )
        }
    })
}
