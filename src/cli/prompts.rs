//! `orch prompts show|export`: see the prompts a run uses, or copy them into the repository
//! (`.orch/prompts/`) to customise them.

use super::{hinted, GlobalArgs, Workspace};
use crate::agent::prompts::{self, PROMPTS};
use crate::cli::exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: PromptsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum PromptsCommand {
    /// List the prompts and where each one comes from.
    List,
    /// Print a prompt's template as a run would use it (the repository's override, if any).
    Show { name: String },
    /// Write the built-in prompts to .orch/prompts/ (never overwrites).
    Export,
}

impl Args {
    /// `list` and `show` only read and print.
    pub(super) fn only_shows(&self) -> bool {
        !matches!(self.command, PromptsCommand::Export)
    }
}

pub fn run(global: &GlobalArgs, args: &Args) -> anyhow::Result<i32> {
    let ws = Workspace::open(global, None)?;
    let root = ws.repo_root.clone().ok_or_else(|| {
        hinted(
            "not inside a git repository",
            "run orch inside your repository, or pass -C <repo>",
        )
    })?;
    match &args.command {
        PromptsCommand::List => {
            for (name, _) in PROMPTS {
                let (_, from) = prompts::source(&root, name)?;
                let from = from.map_or("built in".to_owned(), |p| p.display().to_string());
                println!("{name}  ({from})");
            }
        }
        PromptsCommand::Show { name } => {
            let (text, _) = prompts::source(&root, name).map_err(|e| {
                let names: Vec<&str> = PROMPTS.iter().map(|(n, _)| *n).collect();
                hinted(e.to_string(), format!("prompts: {}", names.join(", ")))
            })?;
            print!("{text}");
        }
        PromptsCommand::Export => {
            for exported in prompts::export(&root)? {
                if exported.written {
                    println!("wrote {}", exported.path.display());
                } else {
                    println!("kept {} (already exists)", exported.path.display());
                }
            }
        }
    }
    Ok(exit::OK)
}
