use crate::app::App;
use crate::args::sessions::SessionsCommand;

pub async fn run(_app: &App, command: SessionsCommand) -> anyhow::Result<()> {
    match command {}
}
