//! `orch completions <shell>`: shell completion scripts, generated from the CLI definition.

use clap::CommandFactory;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to generate for.
    shell: clap_complete::Shell,
}

pub fn run(args: &Args) -> anyhow::Result<i32> {
    let mut cmd = super::Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "orch", &mut std::io::stdout());
    Ok(crate::cli::exit::OK)
}
