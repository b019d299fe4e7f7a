use crate::app::App;
use crate::args::run::RunArgs;

pub async fn run(_app: &App, _args: RunArgs) -> anyhow::Result<()> {
    anyhow::bail!("`cairn run` is not built yet")
}
