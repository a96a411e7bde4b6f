//! `orch man`: manual pages generated from the CLI definition, one per command (`orch.1`,
//! `orch-run.1`, `orch-guard-log.1`, …), so `man orch-run` says what `orch run --help` says.
//! Hidden commands get none.

use clap::CommandFactory;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write the pages into DIR (made if missing) instead of printing `orch.1`.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

pub fn run(args: &Args) -> anyhow::Result<i32> {
    let cmd = super::Cli::command().version(env!("CARGO_PKG_VERSION"));
    match &args.dir {
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            use std::io::Write;
            std::io::stdout().write_all(&out)?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
            let mut cmd = cmd;
            // Building names each subcommand `orch-run` and its usage `orch run`.
            cmd.build();
            let mut written = Vec::new();
            write_pages(&cmd, dir, &mut written)?;
            for path in &written {
                println!("{}", path.display());
            }
        }
    }
    Ok(crate::cli::exit::OK)
}

/// Writes `<display name>.1` for `cmd` and, under it, a page for each visible subcommand.
fn write_pages(cmd: &clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let name = cmd.get_display_name().unwrap_or(cmd.get_name());
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut out)?;
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, out)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.get_name() == "help" {
            continue;
        }
        write_pages(sub, dir, written)?;
    }
    Ok(())
}
