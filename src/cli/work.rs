//! `orch work`: one issue of another orch's run, worked here (a CI runner the workflow of
//! `orch init --ci github` runs on) from the commit that orch gave, or from where an earlier
//! runner left it, then delivered back by one push: the issue's branch, its pins and its
//! result ref (see `engine::work`).

use super::request::{BudgetFlags, Launch};
use super::{hinted, GlobalArgs};
use crate::model::request::{RunRequest, WorkOrder};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The milestone the issue belongs to (`project/milestone`, or the milestone alone).
    milestone: String,
    /// The issue to work.
    #[arg(long, value_name = "ID")]
    issue: String,
    /// The run it belongs to (the dispatching orch's run id): its logs, pins and result ref
    /// are named after it.
    #[arg(long, value_name = "RUN")]
    run: String,
    /// The commit the issue's branch starts from; HEAD must be at it.
    #[arg(long, value_name = "COMMIT")]
    base: String,
    /// The project, when the milestone's name is not enough.
    #[arg(long, value_name = "PROJECT")]
    project: Option<String>,
    /// Where the docs are, when not in the repository.
    #[arg(long, value_name = "DIR")]
    docs: Option<PathBuf>,
    /// The agent CLI of a phase, over orch.toml's `[agents]` (repeatable).
    #[arg(long = "agent", value_name = "PHASE=AGENT")]
    agents: Vec<String>,
    /// The dispatcher retries the issue: the last phase an earlier runner ended is done
    /// again (as `orch resume --retry` does here).
    #[arg(long)]
    retry: bool,
    #[command(flatten)]
    budget: BudgetFlags,
    /// Take over a lock left by an orch process that is gone.
    #[arg(long)]
    force_unlock: bool,
}

pub fn run(global: &GlobalArgs, args: &Args) -> anyhow::Result<i32> {
    if !valid_run_id(&args.run) {
        return Err(hinted(
            format!("`{}` is not a run id orch can name refs after", args.run),
            "a run id is letters, digits, `.`, `_` and `-` (up to 64), starting with a letter or digit",
        ));
    }
    let launch = Launch {
        milestone: Some(args.milestone.clone()),
        project: args.project.clone(),
        scope: None,
        file: None,
        request: RunRequest {
            only_issue: Some(args.issue.clone()),
            agents: args.agents.clone(),
            work: Some(WorkOrder {
                run_id: args.run.clone(),
                base: args.base.clone(),
                retry: args.retry,
            }),
            ..RunRequest::default()
        },
        base: None,
        docs: args.docs.clone(),
        dry_run: false,
        force_unlock: args.force_unlock,
        jobs: Some(1),
        budget: args.budget,
        fresh: false,
        rewatch: false,
        again: Vec::new(),
        on_github: Some(false),
    };
    super::launch::launch(global, &launch, None, Vec::new())
}

/// A run id safe as one ref component and one path component.
fn valid_run_id(id: &str) -> bool {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    (1..=64).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && id.chars().all(ok)
        && !id.contains("..")
        && !id.ends_with(".lock")
}

#[cfg(test)]
mod tests {
    #[test]
    fn run_ids_are_one_safe_ref_component() {
        for good in ["20261208-003216-26983", "r1", "run.2_b"] {
            assert!(super::valid_run_id(good), "{good}");
        }
        for bad in [
            "",
            "-x",
            ".x",
            "a/b",
            "a..b",
            "x.lock",
            "a b",
            &"x".repeat(65),
        ] {
            assert!(!super::valid_run_id(bad), "{bad}");
        }
    }
}
