use crate::app::App;
use crate::args::pool::PoolCommand;

pub async fn run(_app: &App, command: PoolCommand) -> anyhow::Result<()> {
    match command {}
}
