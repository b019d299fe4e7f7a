//! `cairn completions SHELL` and `cairn man`: generated from the clap definitions, so
//! they always match the binary.

use std::io::Write;

use clap::CommandFactory;

use crate::args::Cli;
use crate::output;

pub(crate) fn completions(shell: clap_complete::Shell) -> anyhow::Result<()> {
    let mut command = Cli::command();
    let mut out = output::stdout();
    clap_complete::generate(shell, &mut command, "cairn", &mut out);
    out.flush()?;
    Ok(())
}

pub(crate) fn man() -> anyhow::Result<()> {
    let mut out = output::stdout();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    out.flush()?;
    Ok(())
}
