//! `/list [page]`: this project's sessions, newest activity first, current one marked.

use cairn_core::display::dollars;
use cairn_core::{SessionFilter, SessionStatus};
use serde_json::json;

use super::{CommandResult, Failure, Output};
use crate::agent::Agent;
use crate::resume::shorten;

pub(super) const PAGE_SIZE: u32 = 20;

pub(super) async fn run(agent: &mut Agent, args: &[&str]) -> CommandResult {
    let page: u32 = match args.first() {
        None => 1,
        Some(raw) => raw
            .parse()
            .ok()
            .filter(|p| *p >= 1 && *p <= 100_000)
            .ok_or_else(|| {
                Failure::Usage(format!("/list: page must be a number from 1, not {raw:?}"))
            })?,
    };
    let project = agent.conversation.session().project.clone();
    let total = agent.store.count_sessions(Some(&project)).await?;
    let rows = agent
        .store
        .list_sessions(&SessionFilter {
            project: Some(project.clone()),
            limit: PAGE_SIZE,
            offset: (page - 1) * PAGE_SIZE,
        })
        .await?;
    let pages = total.div_ceil(u64::from(PAGE_SIZE)).max(1);
    let current = agent.conversation.session().name.clone();
    let mut text = format!("Sessions of {project} (page {page} of {pages}, {total} in all):\n");
    if rows.is_empty() {
        text.push_str("  (none on this page)\n");
    }
    let width = rows
        .iter()
        .map(|r| r.name.as_str().chars().count())
        .max()
        .unwrap_or(4);
    for row in &rows {
        let mark = if row.name == current { "*" } else { " " };
        let when = row.updated_at.strftime("%Y-%m-%d %H:%M").to_string();
        let mut title = row
            .title
            .as_deref()
            .map(|t| shorten(t, 40))
            .unwrap_or_default();
        if row.status != SessionStatus::Active {
            title = format!("[{}] {title}", row.status.as_str());
        }
        text.push_str(&format!(
            "{mark} {when}  {:<width$}  {:>5} msgs  {:>9}  {title}\n",
            row.name.as_str(),
            row.message_count,
            dollars(row.cost_usd),
        ));
    }
    if u64::from(page) < pages {
        text.push_str(&format!("/list {} for more\n", page + 1));
    }
    let data = json!({
        "page": page,
        "pages": pages,
        "total": total,
        "current": current.as_str(),
        "sessions": rows.iter().map(|r| json!({
            "name": r.name.as_str(),
            "title": r.title,
            "model": r.model,
            "messages": r.message_count,
            "cost_usd": r.cost_usd,
            "status": r.status,
            "updated_at": r.updated_at.to_string(),
            "current": r.name == current,
        })).collect::<Vec<_>>(),
    });
    Ok(Output::new(text.trim_end().to_owned(), data))
}
