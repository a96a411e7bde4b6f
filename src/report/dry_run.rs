//! `orch run --dry-run`: the plan, then everything a run would do, and the exact agent
//! command; nothing is changed.

use super::style::Styler;
use crate::gates::approval::{self, Approval};
use crate::model::naming::ref_component;
use crate::model::phase::PhaseKind;
use crate::model::plan::{Plan, APPLY_PATCH};
use std::fmt::Write;
use std::path::PathBuf;
use std::time::Duration;

/// What a run of the plan would be.
pub struct DryRun<'a> {
    pub plan: &'a Plan,
    /// `--issue`: only that one.
    pub only_issue: Option<&'a str>,
    /// The branch and commit issue branches start from, or how many problems keep the
    /// repository from being clean.
    pub start: Result<(String, String), usize>,
    /// `<repo>/<logs_dir>/orch`.
    pub logs_root: PathBuf,
    pub approvals: &'a [Approval],
    pub no_build: bool,
    /// Phases whose results are checked against the repository's own schema.
    pub schema_overrides: Vec<(PhaseKind, PathBuf)>,
    /// Each agent CLI the run uses: the phases it runs (`dev, fix`), and its binary and
    /// arguments as a phase runs it.
    pub agent_commands: Vec<(String, String)>,
    pub timeout: Duration,
    /// The budget in force.
    pub budget: crate::model::budget::Limits,
    /// The milestone's last run, when it ran before.
    pub earlier: Option<&'a str>,
    /// Issues an earlier run completed: carried, not run again.
    pub carried: &'a [crate::model::record::IssueSummary],
    /// Issues run from scratch, their earlier branches set aside first.
    pub restart: &'a [String],
    /// Why an agent CLI the run uses cannot start (not found, not executable).
    pub missing_agent: Option<&'a str>,
}

pub fn render(d: &DryRun<'_>, style: &Styler) -> String {
    let plan = d.plan;
    let mut out = super::table::plan(plan, style, Some(super::table::DEFAULT_WIDTH));
    out.push_str("\nDry run: nothing was changed. A run would:\n");
    match &d.start {
        Ok((branch, head)) => {
            let _ = writeln!(
                out,
                "  - start issue branches from {branch} at {head} (verify-clean passed)"
            );
        }
        Err(problems) => {
            let _ = writeln!(
                out,
                "  - REFUSE to start: the repository is not clean ({problems} problems; see `orch verify-clean`)"
            );
        }
    }
    if let Some(missing) = d.missing_agent {
        let _ = writeln!(out, "  - REFUSE to start: {missing}");
    }
    if let Some(earlier) = d.earlier {
        let _ = writeln!(out, "  - follow the milestone's last run, {earlier}:");
    }
    for carried in d.carried {
        let _ = writeln!(
            out,
            "  - {}: completed in run {}; not run again (its dependents start from {})",
            carried.id,
            carried.completed_in.as_deref().unwrap_or("?"),
            carried
                .head
                .as_deref()
                .map_or("its branch".to_owned(), |h| {
                    crate::model::naming::short_oid(h).to_owned()
                })
        );
    }
    for issue in plan
        .issues
        .iter()
        .filter(|i| d.only_issue.is_none_or(|only| i.id == only))
        .filter(|i| !i.skipped)
        .filter(|i| !d.carried.iter().any(|c| c.id == i.id))
    {
        if d.restart.contains(&issue.id) {
            let _ = writeln!(
                out,
                "  - {}: set aside its earlier branch under {}branch-<run-id> (and rescue its worktree's uncommitted work), then run it from scratch",
                issue.id,
                crate::model::naming::rescue_prefix(&plan.scope(), &issue.id)
            );
        }
        let spec = &issue.spec;
        let devs = if spec.shards.is_empty() {
            "dev".to_owned()
        } else {
            let ids: Vec<&str> = spec.shards.iter().map(|s| s.id.as_str()).collect();
            format!("dev per shard ({})", ids.join(", "))
        };
        let _ = writeln!(
            out,
            "  - {}: worktree {} on {}; {devs} → review ⇄ fix (≤{} cycles); logs under {}",
            issue.id,
            issue.worktree.display(),
            issue.branch,
            plan.max_review_cycles,
            d.logs_root
                .join(plan.scope().dir())
                .join("<run-id>")
                .join(ref_component(&issue.id))
                .display()
        );
        let gate_state = |gate: &str| match approval::covering(d.approvals, gate, &issue.id) {
            Some(a) => format!("approved by {}", a.by),
            None => "NOT approved: the task will wait".to_owned(),
        };
        if spec.gated(APPLY_PATCH) {
            let _ = writeln!(
                out,
                "      gate apply_patch before any agent works on it ({})",
                gate_state(APPLY_PATCH)
            );
        }
        for check in spec.all_checks() {
            let _ = writeln!(out, "      check after each dev/fix: {check}");
        }
        for (name, command) in spec.finishing_commands() {
            let note = if d.no_build && matches!(name, "build" | "release") {
                " (skipped: --no-build)".to_owned()
            } else if spec.gated(name) {
                format!(" (gated: {})", gate_state(name))
            } else {
                String::new()
            };
            let _ = writeln!(out, "      then `{name}`: {command}{note}");
        }
    }
    for (kind, path) in &d.schema_overrides {
        let _ = writeln!(
            out,
            "  - {} results are checked against {}",
            kind.name(),
            path.display()
        );
    }
    for (phases, command) in &d.agent_commands {
        let _ = writeln!(
            out,
            "  - {phases} run: {command} (prompt on stdin, timeout {} s)",
            d.timeout.as_secs()
        );
    }
    let _ = writeln!(out, "  - budget: {}", d.budget.describe());
    out
}
