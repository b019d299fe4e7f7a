use crate::app::App;
use crate::args::progress::{ProgressCommand, WhereArgs};

pub async fn where_was_i(_app: &App, _args: WhereArgs) -> anyhow::Result<()> {
    anyhow::bail!("`cairn where` is not built yet")
}

pub async fn run(_app: &App, command: ProgressCommand) -> anyhow::Result<()> {
    match command {}
}
