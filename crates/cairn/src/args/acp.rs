use clap::Args;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  cairn acp\n  cairn acp -m anthropic:claude-sonnet-4-5\n\n\
An editor (Zed, JetBrains, Neovim, Emacs…) launches `cairn acp` in the project and speaks the \
Agent Client Protocol over stdin/stdout. The ACP session id is the cairn session name: \
`cairn run --resume NAME` continues what the editor started, and the editor's session list \
shows what the terminal started. Logs go to stderr."
)]
pub(crate) struct AcpArgs {
    /// Model as provider:model for the sessions this editor drives (otherwise each
    /// session's own, then the settings').
    #[arg(short = 'm', long, value_name = "PROVIDER:MODEL")]
    pub model: Option<String>,
}
