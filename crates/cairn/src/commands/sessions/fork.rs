//! `cairn sessions fork NAME NEW [--at SEQ]`: the use case is `cairn_app::fork`.

use std::io::Write;

use cairn_app::fork::{Forked, fork};

use crate::app::App;
use crate::args::sessions::ForkArgs;
use crate::output;

pub(super) async fn run(app: &App, args: ForkArgs) -> anyhow::Result<()> {
    let store = app.store().await?;
    let (forked, parent) = fork(store.as_ref(), &args.name, args.new, args.at).await?;
    let forked = Forked::of(&forked, &parent);
    if args.json {
        return output::print_json(&forked);
    }
    let mut out = output::stdout();
    writeln!(
        out,
        "forked {} from {} at seq {}; resume it with: cairn run --resume {}",
        forked.name, forked.parent, forked.fork_seq, forked.name
    )?;
    out.flush()?;
    Ok(())
}
