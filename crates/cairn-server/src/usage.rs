//! `GET /api/usage?by=day|week|model|project|session&project=&since=`: tokens and cost,
//! the report `cairn usage` prints (`cairn_app::usage`).

use axum::extract::{Query, State};
use cairn_app::usage::{self, UsageBy, UsageQuery, UsageReport};
use cairn_core::{Project, Timestamp};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::Shared;
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UsageParams {
    /// `day` (UTC, the default), `week` (ISO), `model`, `project` or `session`.
    by: Option<String>,
    /// Only this project's sessions.
    project: Option<String>,
    /// Only answers at or after this instant (RFC 3339).
    since: Option<String>,
}

#[utoipa::path(get, path = "/api/usage", params(UsageParams),
    responses((status = 200, body = UsageReport), (status = 400, body = crate::error::ErrorBody)))]
pub(crate) async fn usage(
    State(state): State<Shared>,
    Query(params): Query<UsageParams>,
) -> ApiResult<UsageReport> {
    let by: UsageBy = params
        .by
        .as_deref()
        .unwrap_or("day")
        .parse()
        .map_err(|e: cairn_core::Error| ApiError::bad_request(e.to_string()))?;
    let since = match params.since.as_deref().filter(|s| !s.is_empty()) {
        Some(raw) => Some(raw.parse::<Timestamp>().map_err(|e| {
            ApiError::bad_request(format!("since: {raw:?} is not an RFC 3339 instant: {e}"))
        })?),
        None => None,
    };
    let query = UsageQuery {
        by,
        project: params
            .project
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(Project::from_stored),
        since,
    };
    Ok(axum::Json(
        usage::report(state.store.as_ref(), &query).await?,
    ))
}
