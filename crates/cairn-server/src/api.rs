//! `/api`: the JSON the dashboard and scripts read. Each handler calls the store or a
//! cairn-app operation and returns its typed result; the shapes are those of the CLI's
//! `--json` (a session row is `sessions list --json`'s, a session `sessions show
//! --json`'s). Lists are paged by an opaque `cursor` (`next_cursor` of the previous
//! page).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use cairn_core::{
    Checkpoint, Event, Project, SearchScope, SessionFilter, SessionName, SessionSummary, Timestamp,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::Shared;
use crate::error::{ApiError, ApiResult};

/// Largest page of sessions.
pub(crate) const MAX_SESSIONS_PAGE: u32 = 200;
const DEFAULT_SESSIONS_PAGE: u32 = 50;
/// Largest page of events.
pub(crate) const MAX_EVENTS_PAGE: u32 = 1000;
const DEFAULT_EVENTS_PAGE: u32 = 200;
/// Search hits scanned for `/api/sessions?q=`.
const SEARCH_HITS: u32 = 1000;

pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/openapi.json", get(crate::openapi::document))
        .route("/sessions", get(list_sessions))
        .route("/sessions/{name}", get(show_session))
        .route("/sessions/{name}/events", get(events))
        .route("/sessions/{name}/stream", get(crate::stream::stream))
        .route("/sessions/{name}/messages", post(crate::messages::post))
        .route("/search", get(search))
        .route("/progress", get(progress_list))
        .route("/progress/{session_id}", get(progress_of))
        .route("/pool", get(pool))
        .route("/usage", get(crate::usage::usage))
        .route("/attachments/{sha256}", get(crate::attachments::attachment))
        .fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not_found",
                "no such API endpoint: see /api/openapi.json",
            )
        })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only this project's sessions (its path as listed); every project when absent.
    project: Option<String>,
    /// Only sessions whose messages match this full-text query.
    q: Option<String>,
    /// Sessions per page (1–200, default 50).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// One page of sessions, newest activity first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SessionPage {
    /// Rows as `cairn sessions list --json` gives them.
    pub sessions: Vec<SessionSummary>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

pub(crate) fn page_limit(raw: Option<u32>, default: u32, max: u32) -> Result<u32, ApiError> {
    match raw {
        None => Ok(default),
        Some(0) => Err(ApiError::bad_request("limit must be at least 1")),
        Some(n) if n > max => Err(ApiError::bad_request(format!(
            "limit {n} is over the maximum of {max}"
        ))),
        Some(n) => Ok(n),
    }
}

fn parse_cursor(raw: Option<&str>) -> Result<u32, ApiError> {
    match raw {
        None | Some("") => Ok(0),
        Some(raw) => raw.parse::<u32>().map_err(|_| {
            ApiError::bad_request(format!(
                "cursor {raw:?} is not one this server gave: pass next_cursor as it came"
            ))
        }),
    }
}

fn project_param(raw: Option<&str>) -> Option<Project> {
    raw.filter(|p| !p.is_empty()).map(Project::from_stored)
}

#[utoipa::path(get, path = "/api/sessions", params(ListQuery),
    responses((status = 200, body = SessionPage), (status = 400, body = crate::error::ErrorBody)))]
pub(crate) async fn list_sessions(
    State(state): State<Shared>,
    Query(query): Query<ListQuery>,
) -> ApiResult<SessionPage> {
    let limit = page_limit(query.limit, DEFAULT_SESSIONS_PAGE, MAX_SESSIONS_PAGE)?;
    let offset = parse_cursor(query.cursor.as_deref())?;
    let project = project_param(query.project.as_deref());
    let mut sessions = match query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        None => {
            // One more than a page tells whether a next page exists.
            let filter = SessionFilter {
                project,
                limit: limit + 1,
                offset,
            };
            state.store.list_sessions(&filter).await?
        }
        Some(q) => matching_sessions(&state, q, project, offset, limit + 1).await?,
    };
    let more = sessions.len() > limit as usize;
    sessions.truncate(limit as usize);
    Ok(axum::Json(SessionPage {
        sessions,
        next_cursor: more.then(|| (offset + limit).to_string()),
    }))
}

/// The sessions whose messages match `q`, in the order of their newest hit.
async fn matching_sessions(
    state: &Shared,
    q: &str,
    project: Option<Project>,
    offset: u32,
    take: u32,
) -> Result<Vec<SessionSummary>, ApiError> {
    let hits = state
        .store
        .search(
            q,
            &SearchScope {
                project,
                limit: SEARCH_HITS,
            },
        )
        .await
        .map_err(|e| match e {
            cairn_core::Error::InvalidInput(m) => ApiError::bad_request(format!("q: {m}")),
            e => e.into(),
        })?;
    let mut names: Vec<SessionName> = Vec::new();
    for hit in hits {
        if !names.contains(&hit.session) {
            names.push(hit.session);
        }
    }
    let mut rows = Vec::new();
    for name in names.into_iter().skip(offset as usize).take(take as usize) {
        match state.store.session(&name).await {
            Ok(s) => rows.push(SessionSummary::from(&s)),
            Err(cairn_core::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(rows)
}

pub(crate) fn session_name(raw: &str) -> Result<SessionName, ApiError> {
    SessionName::parse(raw).map_err(|e| ApiError::bad_request(format!("session name: {e}")))
}

#[utoipa::path(get, path = "/api/sessions/{name}", params(("name" = String, Path, description = "session name")),
    responses((status = 200, body = cairn_app::sessions::SessionDetail), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn show_session(
    State(state): State<Shared>,
    Path(name): Path<String>,
) -> ApiResult<cairn_app::sessions::SessionDetail> {
    Ok(axum::Json(
        cairn_app::sessions::detail(state.store.as_ref(), &session_name(&name)?).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventsQuery {
    /// Events after this seq (0, the default, is from the start).
    after: Option<u64>,
    /// Events per page (1–1000, default 200).
    limit: Option<u32>,
}

/// One page of a session's history, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventPage {
    pub session: String,
    /// Events as session JSONL v1 lines (`{"seq":…,"ts":…,"kind":…}`).
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<Event>,
    /// Pass as `after` for the next page; null when this page reached the end.
    pub next_after: Option<u64>,
}

#[utoipa::path(get, path = "/api/sessions/{name}/events",
    params(("name" = String, Path, description = "session name"), EventsQuery),
    responses((status = 200, body = EventPage), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn events(
    State(state): State<Shared>,
    Path(name): Path<String>,
    Query(query): Query<EventsQuery>,
) -> ApiResult<EventPage> {
    let limit = page_limit(query.limit, DEFAULT_EVENTS_PAGE, MAX_EVENTS_PAGE)?;
    let session = state.store.session(&session_name(&name)?).await?;
    let events = state
        .store
        .events_after(session.id, query.after.unwrap_or(0), limit)
        .await?;
    let next_after = (events.len() == limit as usize)
        .then(|| events.last().map(|e| e.seq))
        .flatten()
        .filter(|seq| *seq < session.head_seq);
    Ok(axum::Json(EventPage {
        session: session.name.to_string(),
        events,
        next_after,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchQuery {
    /// Full-text query over message text (and checkpoints).
    q: String,
    /// Only hits of this project.
    project: Option<String>,
    /// Hits (1–200, default 50).
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/search", params(SearchQuery),
    responses((status = 200, description = "what `cairn sessions search --json` and the MCP search tool give", body = Object)))]
pub(crate) async fn search(
    State(state): State<Shared>,
    Query(query): Query<SearchQuery>,
) -> ApiResult<cairn_app::sessions::SearchResult> {
    let limit = page_limit(query.limit, DEFAULT_SESSIONS_PAGE, MAX_SESSIONS_PAGE)?;
    if query.q.trim().is_empty() {
        return Err(ApiError::bad_request("q: the search query is empty"));
    }
    let mut result = cairn_app::sessions::search(state.store.as_ref(), &query.q, None, limit)
        .await
        .map_err(|e| match e {
            cairn_core::Error::InvalidInput(m) => ApiError::bad_request(format!("q: {m}")),
            e => e.into(),
        })?;
    if let Some(project) = project_param(query.project.as_deref()) {
        result.hits.retain(|h| h.project == project);
    }
    Ok(axum::Json(result))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ProgressQuery {
    /// Only this project's checkpoints.
    project: Option<String>,
    /// Session ids (1–200, default 50).
    limit: Option<u32>,
}

/// The latest checkpoint of each session id, latest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ProgressList {
    #[schema(value_type = Vec<Object>)]
    pub checkpoints: Vec<Checkpoint>,
}

#[utoipa::path(get, path = "/api/progress", params(ProgressQuery),
    responses((status = 200, body = ProgressList)))]
pub(crate) async fn progress_list(
    State(state): State<Shared>,
    Query(query): Query<ProgressQuery>,
) -> ApiResult<ProgressList> {
    let limit = page_limit(query.limit, DEFAULT_SESSIONS_PAGE, MAX_SESSIONS_PAGE)?;
    let project = project_param(query.project.as_deref());
    let checkpoints = state
        .store
        .recent_checkpoints(project.as_ref(), limit)
        .await?;
    Ok(axum::Json(ProgressList { checkpoints }))
}

#[utoipa::path(get, path = "/api/progress/{session_id}",
    params(("session_id" = String, Path, description = "the checkpoint session id")),
    responses((status = 200, description = "every round, oldest first, as `get_progress` gives it", body = Object)))]
pub(crate) async fn progress_of(
    State(state): State<Shared>,
    Path(session_id): Path<String>,
) -> ApiResult<cairn_app::progress::Progress> {
    let progress = cairn_app::progress::get(
        state.store.as_ref(),
        &session_id,
        &cairn_app::progress::Rounds::All,
    )
    .await?;
    Ok(axum::Json(progress))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PoolQuery {
    /// Only this project's pool; every project when absent.
    project: Option<String>,
}

#[utoipa::path(get, path = "/api/pool", params(PoolQuery),
    responses((status = 200, description = "what `cairn pool status --json` gives", body = Object)))]
pub(crate) async fn pool(
    State(state): State<Shared>,
    Query(query): Query<PoolQuery>,
) -> ApiResult<cairn_app::pool_status::PoolStatus> {
    let project = project_param(query.project.as_deref());
    let status = cairn_app::pool_status::load(
        state.store.as_ref(),
        project.as_ref(),
        Timestamp::now(),
        state.pool_ttl_secs,
    )
    .await?;
    Ok(axum::Json(status))
}
