//! `orch report [MILESTONE] [--out FILE] [--json]`: the last run as a document.

use super::{GlobalArgs, Workspace};
use crate::cli::exit;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    run: super::WhichRun,
    /// Write the report to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// JSON instead of Markdown.
    #[arg(long)]
    json: bool,
}

pub fn run(global: &GlobalArgs, args: &Args) -> anyhow::Result<i32> {
    let ws = Workspace::open_reading(global)?;
    let repo = ws.git()?;
    let state = args.run.state(global, &ws, &repo, "orch report")?;
    let text = if args.json {
        serde_json::to_string_pretty(&crate::report::markdown::json(&state))? + "\n"
    } else {
        crate::report::markdown::markdown(&state)
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, crate::util::redact::redact(&text))?;
            println!("wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(exit::OK)
}
