//! Usage reports: tokens by kind and cost, grouped by day, week, model, project or
//! session, over a period. One operation for `cairn usage` and `GET /api/usage`.
//!
//! Without a period, `session` and `project` read the sessions index alone (each
//! session's running totals). Everything else adds up the usage recorded on each
//! answer — once per provider request id, as the index does — so it reads the
//! sessions' histories: at most [`MAX_SESSIONS`] sessions, most recently active
//! first, and none that was last active before the period (`truncated` says when
//! more sessions exist than were read).

use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;

use cairn_core::{Error, Project, Result, SessionFilter, SessionSummary, Store, Timestamp, Usage};
use serde::Serialize;

/// Sessions a report reads.
pub const MAX_SESSIONS: u32 = 2_000;
const EVENT_PAGE: u32 = 1_000;

/// How the rows are grouped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsageBy {
    /// UTC day, `YYYY-MM-DD`.
    Day,
    /// ISO week, `YYYY-Www`.
    Week,
    Model,
    Project,
    Session,
}

impl UsageBy {
    pub const NAMES: [&'static str; 5] = ["day", "week", "model", "project", "session"];

    pub fn as_str(&self) -> &'static str {
        match self {
            UsageBy::Day => "day",
            UsageBy::Week => "week",
            UsageBy::Model => "model",
            UsageBy::Project => "project",
            UsageBy::Session => "session",
        }
    }

    /// Days and weeks read in time order; the others most expensive first.
    fn is_time(&self) -> bool {
        matches!(self, UsageBy::Day | UsageBy::Week)
    }
}

impl FromStr for UsageBy {
    type Err = Error;

    fn from_str(raw: &str) -> Result<Self> {
        Ok(match raw {
            "day" => UsageBy::Day,
            "week" => UsageBy::Week,
            "model" => UsageBy::Model,
            "project" => UsageBy::Project,
            "session" => UsageBy::Session,
            other => {
                return Err(Error::invalid(format!(
                    "by: {other:?} is not one of {}",
                    UsageBy::NAMES.join(", ")
                )));
            }
        })
    }
}

/// What to report on.
#[derive(Clone, Debug)]
pub struct UsageQuery {
    pub by: UsageBy,
    /// Only this project's sessions; every project when `None`.
    pub project: Option<Project>,
    /// Only answers at or after this instant.
    pub since: Option<Timestamp>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageReport {
    /// `day`, `week`, `model`, `project` or `session`.
    pub by: String,
    pub project: Option<String>,
    /// The period's start (RFC 3339), when there is one.
    pub since: Option<String>,
    /// One row per day or week (oldest first), model, project or session (most
    /// expensive first).
    pub rows: Vec<UsageRow>,
    pub total: UsageRow,
    /// More sessions exist than the report read.
    pub truncated: bool,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageRow {
    /// The day, week, model, project or session name.
    pub key: String,
    /// Provider requests counted (0 when read from the sessions index).
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

pub async fn report(store: &dyn Store, query: &UsageQuery) -> Result<UsageReport> {
    let mut sessions = store
        .list_sessions(&SessionFilter {
            project: query.project.clone(),
            limit: MAX_SESSIONS + 1,
            offset: 0,
        })
        .await?;
    let mut truncated = sessions.len() > MAX_SESSIONS as usize;
    sessions.truncate(MAX_SESSIONS as usize);
    if let Some(since) = query.since {
        // Newest activity first: a session last active before the period has
        // nothing in it, nor has any after it.
        if let Some(cut) = sessions.iter().position(|s| s.updated_at < since) {
            sessions.truncate(cut);
            truncated = false;
        }
    }
    let mut rows: BTreeMap<String, UsageRow> = BTreeMap::new();
    let mut total = UsageRow {
        key: "total".to_owned(),
        ..UsageRow::default()
    };
    let from_index =
        query.since.is_none() && matches!(query.by, UsageBy::Session | UsageBy::Project);
    for summary in &sessions {
        if from_index {
            let session = store.session(&summary.name).await?;
            let key = match query.by {
                UsageBy::Project => summary.project.as_str().to_owned(),
                _ => summary.name.to_string(),
            };
            rows.entry(key)
                .or_default()
                .add(&session.usage, session.cost_usd, 0);
            total.add(&session.usage, session.cost_usd, 0);
        } else {
            add_answers(store, summary, query, &mut rows, &mut total).await?;
        }
    }
    let mut rows: Vec<UsageRow> = rows
        .into_iter()
        .map(|(key, row)| UsageRow { key, ..row })
        .collect();
    if !query.by.is_time() {
        rows.sort_by(|a, b| b.cost_usd.total_cmp(&a.cost_usd).then(a.key.cmp(&b.key)));
    }
    Ok(UsageReport {
        by: query.by.as_str().to_owned(),
        project: query.project.as_ref().map(|p| p.as_str().to_owned()),
        since: query.since.map(|t| t.to_string()),
        rows,
        total,
        truncated,
    })
}

/// Adds the usage on each answer of one session, once per provider request.
async fn add_answers(
    store: &dyn Store,
    summary: &SessionSummary,
    query: &UsageQuery,
    rows: &mut BTreeMap<String, UsageRow>,
    total: &mut UsageRow,
) -> Result<()> {
    let session = store.session(&summary.name).await?;
    let mut seen: HashSet<String> = HashSet::new();
    let mut after = 0;
    loop {
        let events = store.events_after(session.id, after, EVENT_PAGE).await?;
        let Some(last) = events.last().map(|e| e.seq) else {
            return Ok(());
        };
        for event in &events {
            if query.since.is_some_and(|since| event.ts < since) {
                continue;
            }
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
            let key = match query.by {
                UsageBy::Day => event.ts.strftime("%Y-%m-%d").to_string(),
                UsageBy::Week => iso_week(event.ts),
                UsageBy::Model => message
                    .model
                    .clone()
                    .or_else(|| session.model.clone())
                    .unwrap_or_else(|| "unknown".to_owned()),
                UsageBy::Project => session.project.as_str().to_owned(),
                UsageBy::Session => session.name.to_string(),
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

/// `2026-W49`: the ISO week (UTC) of an instant.
fn iso_week(ts: Timestamp) -> String {
    let week = ts.to_zoned(jiff::tz::TimeZone::UTC).date().iso_week_date();
    format!("{}-W{:02}", week.year(), week.week())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_weeks_cross_the_year_as_iso_says() {
        let ts: Timestamp = "2026-12-31T12:00:00Z".parse().unwrap();
        assert_eq!(iso_week(ts), "2026-W53");
        let ts: Timestamp = "2027-01-04T00:00:00Z".parse().unwrap();
        assert_eq!(iso_week(ts), "2027-W01");
    }

    #[test]
    fn grouping_names_parse_and_unknown_ones_name_the_choices() {
        for name in UsageBy::NAMES {
            assert_eq!(name.parse::<UsageBy>().unwrap().as_str(), name);
        }
        let err = "month".parse::<UsageBy>().unwrap_err().to_string();
        assert!(err.contains("month") && err.contains("week"), "{err}");
    }
}
