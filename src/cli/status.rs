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
    let ws = Workspace::open_reading(global)?;
    let repo = ws.git()?;
    let state = args.run.state(global, &ws, &repo, "orch status")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&state)?);
        return Ok(exit::OK);
    }
    print!(
        "{}",
        crate::report::status::render(
            &state,
            liveness(&repo, &state),
            &Styler::stdout(global.color)
        )
    );
    Ok(exit::OK)
}

/// Whether an orch runs `state`'s run now: a live holder of the lock, running its milestone.
fn liveness(
    repo: &crate::git::Repo,
    state: &crate::model::state::RunState,
) -> crate::report::status::Liveness {
    use crate::report::status::Liveness;
    match crate::workspace::lock::inspect(&repo.common_dir()) {
        crate::workspace::lock::LockState::Held(info)
            if info.command == crate::workspace::lock::run_command(&state.scope()) =>
        {
            Liveness::Running
        }
        _ => Liveness::NotRunning,
    }
}
