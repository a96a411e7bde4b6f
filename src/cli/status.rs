//! `orch status [MILESTONE]`: where the last run stands, read from its state file (works
//! while the run is going; it does not take the lock).

use super::{GlobalArgs, Workspace};
use crate::cli::exit;
use crate::report::style::Styler;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    run: super::WhichRun,
    /// Print the run state as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(global: &GlobalArgs, args: &Args) -> anyhow::Result<i32> {
    let ws = Workspace::open(global, None)?;
    let repo = ws.git()?;
    let state = args.run.state(global, &ws, &repo, "orch status")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&state)?);
        return Ok(exit::OK);
    }
    print!(
        "{}",
        crate::report::status::render(&state, &Styler::stdout(global.color))
    );
    Ok(exit::OK)
}
