//! orch's own submit of a converged issue: through the GitHub API (`[submit] via = "github"`,
//! see [`super::pull_request`]), or, when the agent has no network (`[graphite] submit =
//! "draft"` with the sandbox on and `[agent] network` off), the guarded `gt submit --stack
//! --draft` in its worktree, outside the sandbox, recording the PR URLs gt printed. Never
//! while a commit of the issue holds a secret a human has not approved (`orch approve secrets
//! --task ID`).

use super::context::RunScope;
use super::host::Host;
use super::pull_request::Converged;
use super::{git, EngineError};
use crate::gates::approval::Approval;
use crate::guard::{secrets, Decision, StackContext};
use crate::model::plan::PlannedIssue;
use crate::model::record::{CommandRecord, IssueSummary, Outcome};
use std::path::Path;

/// The command orch submits with (`gt` first).
pub const SUBMIT: &[&str] = &["gt", "submit", "--stack", "--draft", "--no-interactive"];

/// Where the converged issue is (see [`Converged`]), and the common git dir gt needs.
pub(super) struct Place<'a> {
    pub at: Converged<'a>,
    pub common_dir: &'a Path,
}

/// Submits the converged issue's stack as drafts (see the module doc).
pub(super) async fn submit(
    host: Host<'_>,
    run: &RunScope<'_>,
    summary: &mut IssueSummary,
    issue: &PlannedIssue,
    place: Place<'_>,
    approvals: &[Approval],
) -> Result<(), EngineError> {
    let (findings, head) = scan(host, place.at.worktree, place.at.base).await?;
    if !findings.is_empty()
        && crate::gates::approval::covering(approvals, secrets::GATE, &issue.id).is_none()
    {
        let first = &findings[0];
        summary.outcome = Outcome::Blocked;
        summary.awaiting = vec![secrets::GATE.to_owned()];
        summary.reason = Some(format!(
            "not submitted: its commits hold {} possible secret(s) (first: a {} at {}:{}); look, then `orch approve secrets --task {}` and `orch resume`",
            findings.len(),
            first.kind.name(),
            first.path,
            first.line,
            issue.id
        ));
        return Ok(());
    }
    if run.opts.work.is_some() {
        // The orch that dispatched the issue submits it, from the branch this run pushes.
        return Ok(());
    }
    if host.config.submits_via_github() {
        return super::pull_request::submit(host, run, summary, issue, place.at).await;
    }
    let argv: Vec<String> = SUBMIT[1..].iter().map(|s| (*s).to_owned()).collect();
    let ctx = StackContext {
        issue_branch: issue.branch.clone(),
        stack: place.at.stack.to_vec(),
        current_branch: head.branch.clone(),
        children: Default::default(),
        worktree: Some(place.at.worktree.to_owned()),
    };
    let guard = host.config.guard.clone().unwrap_or_default();
    let aliases = crate::guard::GtAliases::default();
    if let Decision::Deny { reason, .. } =
        crate::guard::gt::decide_gt(&argv, &ctx, &aliases, &guard)
    {
        summary.outcome = Outcome::Failed;
        summary.reason = Some(format!("the guard refused orch's own submit: {reason}"));
        return Ok(());
    }
    run_submit(host, summary, issue, &place).await;
    Ok(())
}

/// The possible secrets in the issue's commits since `base`, and its worktree's HEAD.
async fn scan(
    host: Host<'_>,
    worktree: &Path,
    base: &str,
) -> Result<(Vec<secrets::Finding>, crate::git::Head), EngineError> {
    let allow = host.config.secret_allow().unwrap_or_default();
    let base = base.to_owned();
    git(worktree, move |repo| {
        let head = repo.head()?;
        let tip = head.oid.clone().unwrap_or_default();
        let mut found = Vec::new();
        for commit in repo.commits_between(&base, &tip)? {
            let patch = repo.commit_patch(&commit.oid)?;
            found.extend(secrets::scan_patch(&patch, |p| allow.is_match(p)));
        }
        Ok((found, head))
    })
    .await
}

/// Runs the submit in the worktree (outside the sandbox, with the common dir pinned) and
/// records it, with the PR URLs gt printed.
async fn run_submit(
    host: Host<'_>,
    summary: &mut IssueSummary,
    issue: &PlannedIssue,
    place: &Place<'_>,
) {
    let command = format!(
        "GIT_COMMON_DIR={} {}",
        crate::util::process::sh_word(&place.common_dir.display().to_string()),
        SUBMIT.join(" ")
    );
    let log = crate::model::layout::command_log(place.at.issue_dir, "submit");
    let timeout = host.task_timeout(issue);
    let result =
        crate::gates::shell::run_own(&command, place.at.worktree, &log, timeout, host.cancel())
            .await;
    let record = CommandRecord {
        name: "submit".to_owned(),
        command: SUBMIT.join(" "),
        status: result.status,
        log: log.clone(),
        duration_ms: result.duration_ms,
        approved_by: None,
    };
    host.emit(&crate::model::event::EngineEvent::CommandRun {
        id: issue.id.clone(),
        name: "submit".to_owned(),
        record: record.clone(),
    });
    summary.commands.push(record);
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    for url in pr_urls(&output) {
        if !summary.draft_prs.contains(&url) {
            summary.draft_prs.push(url);
        }
    }
    if result.interrupted {
        summary.outcome = Outcome::Interrupted;
        summary.reason = Some("interrupted while submitting drafts".to_owned());
    } else if !result.success() {
        let last = (output.lines())
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or_default()
            .trim()
            .to_owned();
        summary.outcome = Outcome::Failed;
        summary.reason = Some(format!(
            "`{}` failed: {} ({last})",
            SUBMIT.join(" "),
            result.describe(timeout)
        ));
    }
}

/// The pull request URLs in gt's output.
fn pr_urls(output: &str) -> Vec<String> {
    let mut urls: Vec<String> = output
        .split_whitespace()
        .filter(|w| w.starts_with("https://") && (w.contains("/pull/") || w.contains("graphite")))
        .map(|w| w.trim_end_matches(['.', ',', ')']).to_owned())
        .collect();
    urls.dedup();
    urls
}

#[cfg(test)]
mod tests {
    #[test]
    fn pr_urls_come_from_gt_output() {
        let out = "Pushed a1-part (new)\nhttps://app.graphite.dev/github/pr/o/r/12 (created)\nsee https://github.com/o/r/pull/12.\nhttps://example.com/x\n";
        assert_eq!(
            super::pr_urls(out),
            vec![
                "https://app.graphite.dev/github/pr/o/r/12",
                "https://github.com/o/r/pull/12"
            ]
        );
    }
}
