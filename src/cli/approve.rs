//! `orch approve <GATE> [--task ID] [--milestone M | --file PLAN] [--revoke]`: records (or
//! withdraws) a human's approval of a gate, so `orch resume` can run what waited for it.

use super::{hinted, GlobalArgs, Workspace};
use crate::exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The gate: `apply_patch` (agents may work on the task) or the name of a task command
    /// (`deploy`, `tag`, `release`, …).
    gate: String,
    /// Approve for this task only (default: every task of the milestone or plan).
    #[arg(long, value_name = "ID")]
    task: Option<String>,
    /// The milestone or plan name (default: the plan given by --file, else the most recent
    /// run's).
    #[arg(long, value_name = "M", conflicts_with = "file")]
    milestone: Option<String>,
    /// The plan file whose tasks the approval is for (default `orchestrator.yml`).
    #[arg(long, value_name = "PLAN", num_args = 0..=1)]
    file: Option<Option<std::path::PathBuf>>,
    /// Withdraw the approval instead.
    #[arg(long)]
    revoke: bool,
}

pub fn run(global: &GlobalArgs, args: &Args) -> anyhow::Result<i32> {
    let ws = Workspace::open(global, None)?;
    let repo = ws.git()?;
    if crate::naming::ref_component(&args.gate) != args.gate || args.gate.is_empty() {
        return Err(hinted(
            format!("`{}` is not a gate name", args.gate),
            "gates are names like apply_patch, deploy, tag",
        ));
    }
    let milestone = match (&args.milestone, &args.file) {
        (Some(m), _) => m.clone(),
        (None, Some(file)) => super::plan_file_milestone(global, &ws, file.as_deref())?,
        (None, None) => super::latest_state(&repo, None)?.milestone,
    };
    let common = repo.common_dir();
    let scope = args
        .task
        .as_ref()
        .map_or("every task".to_owned(), |t| format!("task {t}"));
    if args.revoke {
        let removed =
            crate::approval::revoke(&common, &milestone, &args.gate, args.task.as_deref())?;
        if removed == 0 {
            println!(
                "No approval of `{}` for {scope} of {milestone} was recorded.",
                args.gate
            );
        } else {
            println!("Revoked `{}` for {scope} of {milestone}.", args.gate);
        }
        return Ok(exit::OK);
    }
    let approval = crate::approval::grant(&common, &milestone, &args.gate, args.task.as_deref())?;
    println!(
        "Approved `{}` for {scope} of {milestone} ({} at {}).",
        approval.gate, approval.by, approval.at
    );
    println!("Continue the run with `orch resume`.");
    Ok(exit::OK)
}
