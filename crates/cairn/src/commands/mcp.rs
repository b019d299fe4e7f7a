use crate::app::App;
use crate::args::mcp::McpArgs;

pub async fn run(_app: &App, _args: McpArgs) -> anyhow::Result<()> {
    anyhow::bail!("`cairn mcp` is not built yet")
}
