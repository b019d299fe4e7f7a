use cairn_core::Timestamp;
use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
pub(crate) struct UsageArgs {
    /// How to group: by day (UTC), week (ISO), model, project or session.
    #[arg(long, value_enum, default_value_t = Grouping::Day)]
    pub by: Grouping,
    /// Only what was spent since then: an age (30d, 2w, 12h) or a date (2026-11-01).
    #[arg(long, value_name = "WHEN", value_parser = super::period::instant)]
    pub since: Option<Timestamp>,
    /// Every project, not only this one.
    #[arg(long)]
    pub all: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Grouping {
    Day,
    Week,
    Model,
    Project,
    Session,
}
