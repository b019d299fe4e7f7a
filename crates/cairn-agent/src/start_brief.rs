//! A new session of a project that has a recent checkpoint (`save_progress` from any
//! MCP client, `cairn progress save`, or `/done`) starts with that checkpoint's
//! where-was-I brief as its first message, so work handed off by another agent is
//! picked up without being re-explained. The brief is the one `cairn where` and the
//! MCP `where_was_i` tool give (`cairn_app::resume_brief`); it is an ordinary event
//! of the session, so it is resumed, compacted and recalled like any message.

use std::sync::Arc;

use cairn_app::resume_brief::{WhereQuery, where_was_i};
use cairn_core::display::ago;
use cairn_core::{Error, Message, Project, Role, Store, Timestamp};

/// The first message of a new session of `project`, when the project's newest
/// checkpoint is at most `max_age_hours` old.
pub(crate) async fn brief_message(
    store: &Arc<dyn Store>,
    project: &Project,
    max_age_hours: u64,
    now: Timestamp,
) -> Result<Option<Message>, Error> {
    let Some(newest) = store
        .recent_checkpoints(Some(project), 1)
        .await?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let age_secs = now
        .as_second()
        .saturating_sub(newest.created_at.as_second());
    let max_age_secs = i64::try_from(max_age_hours.saturating_mul(3600)).unwrap_or(i64::MAX);
    if age_secs > max_age_secs {
        return Ok(None);
    }
    let query = WhereQuery {
        session_id: Some(newest.session_id.clone()),
        client: None,
        project: Some(project.clone()),
    };
    let Some(found) = where_was_i(store.as_ref(), &query, now).await? else {
        return Ok(None);
    };
    let by = newest
        .client
        .as_deref()
        .map(|c| format!(" by {c}"))
        .unwrap_or_default();
    let text = format!(
        "[cairn] Where this project stands: its latest checkpoint, saved {}{by} under \
         \"{}\". Pick the work up from here unless the developer asks for something else.\n\n{}",
        ago(now, newest.created_at),
        newest.session_id,
        found.resume_brief
    );
    Ok(Some(Message::text(Role::User, text)))
}
