use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Print the paths of the config files, the store and the data directory.
    #[command(after_help = "Example:\n  cairn config path")]
    Path {
        #[arg(long)]
        json: bool,
    },
    /// Print the resolved settings (secrets masked).
    #[command(after_help = "Example:\n  cairn config show --json")]
    Show {
        #[arg(long)]
        json: bool,
    },
}
