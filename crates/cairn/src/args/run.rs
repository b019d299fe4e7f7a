use cairn_core::SessionName;
use cairn_llm::ModelRef;
use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    cairn run --name auth-refactor          create, or resume if it exists\n  \
    cairn run --resume auth-refactor        resume (must exist)\n  \
    cairn run --resume                      choose one of this project's sessions\n  \
    cairn run --resume-recent               the most recent session of this project\n  \
    cairn run --name fix -p \"run the tests\" one turn with tools, then exit\n  \
    echo \"summarise README.md\" | cairn run  the prompt on stdin")]
pub(crate) struct RunArgs {
    /// Session name: resumed if it exists, created otherwise.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["resume", "resume_recent"])]
    pub name: Option<SessionName>,

    /// Resume a session (it must exist). Without NAME, choose one interactively.
    #[arg(long, value_name = "NAME", num_args = 0..=1, conflicts_with = "resume_recent")]
    pub resume: Option<Option<SessionName>>,

    /// Resume the most recently active session of the current project.
    #[arg(long)]
    pub resume_recent: bool,

    /// Model as provider:model (openai:gpt-4.1, anthropic:claude-sonnet-4-5,
    /// ollama:qwen2.5-coder, …). Also switches a resumed session's model.
    #[arg(short = 'm', long, value_name = "PROVIDER:MODEL")]
    pub model: Option<ModelRef>,

    /// Run one turn with this prompt (tools included) and exit. `-p -` reads the
    /// prompt from stdin, as does a piped stdin without -p.
    #[arg(short = 'p', long, value_name = "TEXT")]
    pub prompt: Option<String>,

    /// Output of a one-shot run: readable text, or one JSON event per line.
    #[arg(long, value_enum, default_value_t = RunFormat::Text)]
    pub format: RunFormat,

    /// Run shell commands the model asks for without asking.
    #[arg(long)]
    pub yes: bool,

    /// Take the session over from another process that holds it.
    #[arg(long)]
    pub force: bool,

    /// Resume a session of another project with its tools working in that project's
    /// root (without it, such a session is refused: run cairn from its project).
    #[arg(long)]
    pub allow_other_project: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum RunFormat {
    Text,
    Jsonl,
}
