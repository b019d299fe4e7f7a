//! `GET /api/usage?by=day|session|model&project=`: tokens and cost.
//! - `session` reads the sessions index alone (each session's running totals);
//! - `day` and `model` add up the usage recorded on each answer (deduplicated by
//!   provider request id, as the index is), so they read the sessions' histories:
//!   at most [`MAX_SESSIONS`] sessions, most recently active first (`truncated` says
//!   when more exist).

use std::collections::{BTreeMap, HashSet};

use axum::extract::{Query, State};
use cairn_core::{Project, SessionFilter, SessionSummary, Usage};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::Shared;
use crate::error::{ApiError, ApiResult};

/// Sessions a usage report covers.
pub(crate) const MAX_SESSIONS: u32 = 2_000;
const EVENT_PAGE: u32 = 1_000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UsageQuery {
    /// `day` (UTC), `session` or `model`; default `day`.
    by: Option<String>,
    /// Only this project's sessions.
    project: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UsageReport {
    pub by: String,
    pub project: Option<String>,
    /// One row per day (oldest first), session or model (most expensive first).
    pub rows: Vec<UsageRow>,
    pub total: UsageRow,
    /// More sessions exist than the report read.
    pub truncated: bool,
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub(crate) struct UsageRow {
    /// The day (YYYY-MM-DD), session name or model.
    pub key: String,
    /// Provider requests counted (0 in `by=session`, which reads the index).
    pub requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    pub reasoning_tokens: u64,
    pub total_tokens: u64,
    pub cost_usd: f64,
}

impl UsageRow {
    fn add(&mut self, usage: &Usage, cost: f64, requests: u64) {
        self.requests += requests;
        self.input_tokens += usage.input_tokens;
        self.output_tokens += usage.output_tokens;
        self.cache_read_tokens += usage.cache_read_tokens;
        self.cache_write_tokens += usage.cache_write_tokens;
        self.reasoning_tokens += usage.reasoning_tokens;
        self.total_tokens += usage.total();
        self.cost_usd += cost;
    }
}

#[derive(Clone, Copy, PartialEq)]
enum By {
    Day,
    Session,
    Model,
}

#[utoipa::path(get, path = "/api/usage", params(UsageQuery),
    responses((status = 200, body = UsageReport), (status = 400, body = crate::error::ErrorBody)))]
pub(crate) async fn usage(
    State(state): State<Shared>,
    Query(query): Query<UsageQuery>,
) -> ApiResult<UsageReport> {
    let by = match query.by.as_deref().unwrap_or("day") {
        "day" => By::Day,
        "session" => By::Session,
        "model" => By::Model,
        other => {
            return Err(ApiError::bad_request(format!(
                "by={other:?}: use day, session or model"
            )));
        }
    };
    let project = query
        .project
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(Project::from_stored);
    let mut sessions = state
        .store
        .list_sessions(&SessionFilter {
            project: project.clone(),
            limit: MAX_SESSIONS + 1,
            offset: 0,
        })
        .await?;
    let truncated = sessions.len() > MAX_SESSIONS as usize;
    sessions.truncate(MAX_SESSIONS as usize);
    let mut rows: BTreeMap<String, UsageRow> = BTreeMap::new();
    let mut total = UsageRow {
        key: "total".to_owned(),
        ..UsageRow::default()
    };
    if by == By::Session {
        for s in &sessions {
            let session = state.store.session(&s.name).await?;
            let row = rows.entry(s.name.to_string()).or_default();
            row.add(&session.usage, session.cost_usd, 0);
            total.add(&session.usage, session.cost_usd, 0);
        }
    } else {
        for s in &sessions {
            add_answers(&state, s, by, &mut rows, &mut total).await?;
        }
    }
    let mut rows: Vec<UsageRow> = rows
        .into_iter()
        .map(|(key, row)| UsageRow { key, ..row })
        .collect();
    if by != By::Day {
        rows.sort_by(|a, b| b.cost_usd.total_cmp(&a.cost_usd));
    }
    Ok(axum::Json(UsageReport {
        by: match by {
            By::Day => "day",
            By::Session => "session",
            By::Model => "model",
        }
        .to_owned(),
        project: project.map(|p| p.as_str().to_owned()),
        rows,
        total,
        truncated,
    }))
}

/// Add the usage on each answer of one session, once per provider request.
async fn add_answers(
    state: &Shared,
    summary: &SessionSummary,
    by: By,
    rows: &mut BTreeMap<String, UsageRow>,
    total: &mut UsageRow,
) -> Result<(), ApiError> {
    let session = state.store.session(&summary.name).await?;
    let mut seen: HashSet<String> = HashSet::new();
    let mut after = 0;
    loop {
        let events = state
            .store
            .events_after(session.id, after, EVENT_PAGE)
            .await?;
        let Some(last) = events.last().map(|e| e.seq) else {
            return Ok(());
        };
        for event in &events {
            let Some(message) = event.payload.as_message() else {
                continue;
            };
            let Some(usage) = message.usage.as_ref() else {
                continue;
            };
            if let Some(id) = &message.request_id
                && !seen.insert(id.clone())
            {
                continue;
            }
            let key = match by {
                By::Day => event.ts.strftime("%Y-%m-%d").to_string(),
                _ => message
                    .model
                    .clone()
                    .or_else(|| session.model.clone())
                    .unwrap_or_else(|| "unknown".to_owned()),
            };
            let cost = message.cost_usd.unwrap_or(0.0);
            rows.entry(key).or_default().add(usage, cost, 1);
            total.add(usage, cost, 1);
        }
        if events.len() < EVENT_PAGE as usize {
            return Ok(());
        }
        after = last;
    }
}
