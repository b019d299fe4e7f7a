use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub(crate) enum StoreCommand {
    /// Which store is in use, its schema version, size and counts.
    #[command(after_help = "Example:\n  cairn store status --json")]
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Copy sessions, events, attachments, checkpoints and pool history into another
    /// store (again any time: what is there already is kept, a session that grew gets
    /// its new events, a name taken by another session is reported, not overwritten).
    #[command(after_help = "Examples:\n  \
        cairn store copy --to postgres://ann@db.example.com/cairn\n  \
        cairn store copy --from postgres://ann@db.example.com/cairn --to sqlite:///home/ann/backup.db")]
    Copy(CopyArgs),
    /// Store the events an older cairn wrote in today's smaller form (large payloads
    /// compressed, identical ones kept once), and recompress the store's events more
    /// strongly than writing does (SQLite). Each session is converted in one
    /// transaction; Ctrl-C stops after the session in progress, and running the
    /// command again continues where it stopped. What every command shows is
    /// unchanged.
    #[command(after_help = "Example:\n  cairn store compact")]
    Compact {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct CopyArgs {
    /// The store to copy into: sqlite:///ABSOLUTE/PATH or postgres://USER@HOST/DATABASE.
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// The store to copy from (default: the store in use).
    #[arg(long, value_name = "URL")]
    pub from: Option<String>,
    #[arg(long)]
    pub json: bool,
}
