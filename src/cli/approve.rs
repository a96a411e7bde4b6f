//! `orch approve <GATE> [--task ID] [--milestone M | --file PLAN] [--revoke]`: records (or
//! withdraws) a human's approval of a gate, so `orch resume` can run what waited for it.

use super::{hinted, GlobalArgs, Workspace};
use crate::cli::exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The gate: `apply_patch` (agents may work on the task), `secrets` (submit an issue
    /// whose commits hold a possible secret, after a human looked), or the name of a task
    /// command (`deploy`, `tag`, `release`, …).
    gate: String,
    /// Approve for this task only (default: every task of the milestone or plan).
    #[arg(long, value_name = "ID")]
    task: Option<String>,
    /// The milestone (`<project>/<milestone>`, or one with --project) or plan name (default:
    /// the plan given by --file, else the most recent run's).
    #[arg(long, value_name = "M", conflicts_with = "file")]
    milestone: Option<String>,
    /// The milestone's project.
    #[arg(long, value_name = "PROJECT", requires = "milestone")]
    project: Option<String>,
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
    if crate::model::naming::ref_component(&args.gate) != args.gate || args.gate.is_empty() {
        return Err(hinted(
            format!("`{}` is not a gate name", args.gate),
            "gates are names like apply_patch, deploy, tag",
        ));
    }
    // The plan the approval is for, when known: a typo in a task or gate name must not
    // record an approval that covers nothing (and leave the real gate closed).
    let (milestone, plan, found) = match (&args.milestone, &args.file) {
        // Read as every command reads a milestone name (orch.toml's project, a leading id):
        // among the recorded runs, else in the docs (an approval given before the first run).
        (Some(m), _) => {
            let project = args.project.as_deref();
            match super::latest_state(&ws, &repo, Some(m), project, "orch approve") {
                Ok(state) => (state.scope(), None, Some(state)),
                Err(_) => {
                    let set = ws.load_docs()?;
                    let scope =
                        super::select_scope(&ws, m, project, &set.scopes(), "orch approve")?;
                    (scope, None, None)
                }
            }
        }
        (None, Some(file)) => {
            let plan = super::plan_file_plan(global, &ws, file.as_deref())?;
            (plan.scope(), Some(plan), None)
        }
        (None, None) => {
            let state = super::latest_state(&ws, &repo, None, None, "orch approve")?;
            (state.scope(), None, Some(state))
        }
    };
    let common = repo.common_dir();
    // The latest run of the milestone: the one found above, else read for the plan file's.
    let state = found.or_else(|| crate::record::state::latest(&common, Some(&milestone)));
    if let (Some(task), false) = (&args.task, args.revoke) {
        let known: Option<(Vec<&str>, &str)> = match (&plan, &state) {
            (Some(plan), _) => Some((plan.issues.iter().map(|i| i.id.as_str()).collect(), "")),
            (None, Some(state)) => Some((
                state.issues.iter().map(|i| i.id.as_str()).collect(),
                "the last run of ",
            )),
            (None, None) => None,
        };
        if let Some((known, what)) = known.filter(|(k, _)| !k.contains(&task.as_str())) {
            return Err(hinted(
                format!("task `{task}` is not in {what}{milestone}"),
                format!("its tasks: {}", known.join(", ")),
            ));
        }
    }
    // `secrets` is orch's own gate (a commit holding a possible secret), in every plan.
    let builtin = args.gate == crate::guard::secrets::GATE;
    if let (Some(plan), false, false) = (&plan, args.revoke, builtin) {
        let gated: Vec<&str> = plan
            .issues
            .iter()
            .filter(|i| args.task.as_ref().is_none_or(|t| &i.id == t))
            .flat_map(|i| i.spec.approvals.iter().map(String::as_str))
            .collect();
        if !gated.contains(&args.gate.as_str()) {
            let mut names = gated.clone();
            names.sort_unstable();
            names.dedup();
            return Err(hinted(
                format!(
                    "no task{} of {milestone} waits for a `{}` approval",
                    args.task
                        .as_ref()
                        .map(|t| format!(" {t}"))
                        .unwrap_or_default(),
                    args.gate
                ),
                if names.is_empty() {
                    "its tasks name no gates in `approvals.required`".to_owned()
                } else {
                    format!("the gates there: {}", names.join(", "))
                },
            ));
        }
    }
    let scope = args
        .task
        .as_ref()
        .map_or("every task".to_owned(), |t| format!("task {t}"));
    if args.revoke {
        let removed =
            crate::gates::approval::revoke(&common, &milestone, &args.gate, args.task.as_deref())?;
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
    let approval =
        crate::gates::approval::grant(&common, &milestone, &args.gate, args.task.as_deref())?;
    println!(
        "Approved `{}` for {scope} of {milestone} ({} at {}).",
        approval.gate, approval.by, approval.at
    );
    println!("Continue the run with `orch resume`.");
    Ok(exit::OK)
}
