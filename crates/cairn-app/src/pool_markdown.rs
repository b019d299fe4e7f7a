//! The pool as readable markdown, for MCP text content and the CLI.

use std::fmt::Write as _;

use cairn_core::Project;

use crate::pool_status::{PoolStatus, SignalOutcome};
use cairn_core::display::{ago, first_line, human_secs};

impl SignalOutcome {
    pub fn to_markdown(&self) -> String {
        let s = &self.signal;
        let mut out = format!(
            "Signal {} recorded: {} `{}` as {} (project {}).",
            s.id,
            s.action.as_str(),
            s.topic,
            s.instance,
            s.project
        );
        if let Some(open) = &self.topic {
            let _ = write!(
                out,
                " Topic state: {} by {}.",
                open.state.as_str(),
                open.holder
            );
        }
        for warning in &self.warnings {
            let _ = write!(out, "\n\n⚠ {warning}");
        }
        out
    }
}

impl PoolStatus {
    /// Readable markdown, for MCP text content and the CLI.
    pub fn to_markdown(&self) -> String {
        let now = self.generated_at;
        let mut out = String::new();
        let scope = match &self.project {
            Some(project) => format!("project {project}"),
            None => "all projects".to_owned(),
        };
        let _ = writeln!(out, "# Pool status ({scope})\n");
        let all = self.project.is_none();
        let where_ = |project: &Project| {
            if all {
                format!(" [{}]", project.short_name())
            } else {
                String::new()
            }
        };

        let _ = writeln!(out, "## Active instances ({})", self.instances.len());
        if self.instances.is_empty() {
            let _ = writeln!(out, "none");
        }
        for i in &self.instances {
            let client = i
                .client
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "- {}{client}{}: last seen {}",
                i.instance,
                where_(&i.project),
                ago(now, i.last_seen)
            );
        }

        let _ = writeln!(out, "\n## Open topics ({})", self.open_topics.len());
        if self.open_topics.is_empty() {
            let _ = writeln!(out, "none");
        }
        for t in &self.open_topics {
            let _ = write!(
                out,
                "- `{}`{}: **{}** by {}{} since {}",
                t.topic,
                where_(&t.project),
                t.state.as_str(),
                t.holder,
                t.author
                    .as_deref()
                    .map(|a| format!(" ({a})"))
                    .unwrap_or_default(),
                ago(now, t.since)
            );
            if !t.summary.is_empty() {
                let _ = write!(out, " — {}", first_line(&t.summary));
            }
            if !t.affects.is_empty() {
                let _ = write!(out, " (affects: {})", t.affects.join(", "));
            }
            if !t.contested_by.is_empty() {
                let _ = write!(out, " (also claimed by: {})", t.contested_by.join(", "));
            }
            out.push('\n');
        }

        if !self.blockers.is_empty() {
            let _ = writeln!(out, "\n## Blockers ({})", self.blockers.len());
            for b in &self.blockers {
                let _ = writeln!(
                    out,
                    "- `{}`{} blocked by {} since {}: {}",
                    b.topic,
                    where_(&b.project),
                    b.instance,
                    ago(now, b.since),
                    first_line(&b.summary)
                );
            }
        }
        if !self.conflicts.is_empty() {
            let _ = writeln!(out, "\n## File conflicts ({})", self.conflicts.len());
            for c in &self.conflicts {
                let _ = writeln!(out, "- ⚠ {}{}", c.describe(), where_(&c.project));
            }
        }
        if !self.handoffs.is_empty() {
            let _ = writeln!(
                out,
                "\n## Handed off, waiting for a taker ({})",
                self.handoffs.len()
            );
            for h in &self.handoffs {
                let _ = writeln!(
                    out,
                    "- `{}`{} from {} {}: {}",
                    h.topic,
                    where_(&h.project),
                    h.from,
                    ago(now, h.at),
                    first_line(&h.notes)
                );
            }
        }
        if !self.recently_completed.is_empty() {
            let _ = writeln!(
                out,
                "\n## Recently completed ({})",
                self.recently_completed.len()
            );
            for c in &self.recently_completed {
                let _ = writeln!(
                    out,
                    "- `{}`{} by {} {}: {}",
                    c.topic,
                    where_(&c.project),
                    c.instance,
                    ago(now, c.completed_at),
                    first_line(&c.summary)
                );
            }
        }
        if !self.expired.is_empty() {
            let _ = writeln!(
                out,
                "\n## Released after {} of silence ({})",
                human_secs(self.ttl_secs),
                self.expired.len()
            );
            for e in &self.expired {
                let _ = writeln!(
                    out,
                    "- `{}`{} was held by {} (last seen {})",
                    e.topic,
                    where_(&e.project),
                    e.holder,
                    ago(now, e.last_seen)
                );
            }
        }
        if !self.messages.is_empty() {
            let _ = writeln!(out, "\n## Messages ({})", self.messages.len());
            for m in &self.messages {
                let _ = writeln!(
                    out,
                    "- {} on `{}`{} {}: {}",
                    m.instance,
                    m.topic,
                    where_(&m.project),
                    ago(now, m.at),
                    first_line(&m.summary)
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use cairn_core::{PoolAction, PoolSignal, Project, Timestamp};

    use crate::pool_status::compute;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    fn signal(id: i64, who: &str, action: PoolAction, topic: &str, affects: &str) -> PoolSignal {
        PoolSignal {
            id,
            project: Project::from_stored("/work/app"),
            topic: topic.into(),
            action,
            summary: format!("{} {topic}", action.as_str()),
            affects: vec![affects.to_owned()],
            instance: who.into(),
            session_id: None,
            created_at: t(id),
            expires_at: None,
            author: None,
        }
    }

    #[test]
    fn markdown_names_holders_and_conflicts() {
        let signals = vec![
            signal(0, "a", PoolAction::Claimed, "auth", "src/auth.rs"),
            signal(1, "b", PoolAction::Started, "api", "src/auth.rs"),
        ];
        let s = compute(
            Some(Project::from_stored("/work/app")),
            &signals,
            &[],
            t(2),
            3600,
        );
        let md = s.to_markdown();
        assert!(
            md.contains("`auth`") && md.contains("**claimed** by a"),
            "{md}"
        );
        assert!(
            md.contains("File conflicts (1)") && md.contains("both affect src/auth.rs"),
            "{md}"
        );
    }
}
