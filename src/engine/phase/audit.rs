//! The audit after each phase: refs outside the issue's stack, worktrees the agent added or
//! removed, and changes to the task's forbidden paths, each logged to the phase's guard log
//! (and put back, unless `[guard] audit_restore = false`); and the scan of what the phase
//! added for secrets.

use crate::engine::host::Host;
use crate::engine::{git, logs, EngineError};
use crate::gates::approval::Approval;
use crate::guard::log::{Found, GuardLine};
use crate::guard::secrets;
use crate::model::naming::Scope;
use crate::model::plan::PlannedIssue;
use crate::workspace::audit::Peer;
use crate::workspace::{capture, worktrees};
use std::path::{Path, PathBuf};

/// One issue's phase, as the audit sees it.
pub(in crate::engine) struct Audited<'a> {
    pub issue: &'a PlannedIssue,
    pub scope: Scope,
    /// The issue branch and the branches its phases made.
    pub stack: &'a [String],
    /// The other issues in flight during the phase: their own work is no violation here.
    pub peers: Vec<Peer>,
    pub range: &'a capture::PhaseRange,
    /// The phase's log dir (its `guard.jsonl`).
    pub dir: &'a Path,
}

/// Runs the post-phase audit. Every violation goes to the phase's `guard.jsonl`; refs are
/// put back and added worktrees removed unless `[guard] audit_restore = false`. Returns the
/// violations, described.
pub(in crate::engine) async fn audit(
    host: Host<'_>,
    a: Audited<'_>,
) -> Result<Vec<String>, EngineError> {
    let restore = host.config.audit_restores();
    let (range, branch, stack) = (a.range.clone(), a.issue.branch.clone(), a.stack.to_vec());
    let (peers, worktree) = (a.peers.clone(), a.issue.worktree.clone());
    let refs = git(host.repo_root, move |repo| {
        Ok(crate::workspace::audit::audit(
            repo,
            &range,
            (&branch, &stack),
            &worktree,
            &peers,
            restore,
        )?)
    })
    .await?;
    let mut found: Vec<(String, GuardLine)> = refs
        .iter()
        .map(|v| {
            let line = GuardLine::violation(
                Found::Ref {
                    name: v.name.clone(),
                    before: v.before.clone(),
                    after: v.after.clone(),
                    also_in_flight: v.also_in_flight.clone(),
                },
                v.restored,
            );
            (v.name.clone(), line)
        })
        .collect();
    found.extend(agent_worktrees(host, &a, restore).await?);
    found.extend(forbidden(a.issue, a.range));
    let (changes, lines): (Vec<String>, Vec<GuardLine>) = found.into_iter().unzip();
    if !lines.is_empty() {
        logs::append_guard_lines(a.dir, &lines)?;
    }
    Ok(changes)
}

/// Worktrees the agent added (removed again, their work rescued, when restoring) or removed.
/// Those orch made or removed for the other issues meanwhile are theirs, and so are orch's
/// clean rooms (another issue's verification).
async fn agent_worktrees(
    host: Host<'_>,
    a: &Audited<'_>,
    restore: bool,
) -> Result<Vec<(String, GuardLine)>, EngineError> {
    let theirs = |path: &PathBuf| {
        a.peers.iter().any(|p| &p.worktree == path) || crate::engine::verify::is_clean_room(path)
    };
    let mut found = Vec::new();
    for path in a.range.worktrees_added.iter().filter(|p| !theirs(p)) {
        let p = path.clone();
        let prefix = format!(
            "{}agent-worktrees/",
            worktrees::rescue_prefix(&a.scope, &a.issue.id)
        );
        let removed = match restore {
            false => None,
            true => {
                git(host.repo_root, move |repo| {
                    let Some(entry) = repo.worktrees()?.into_iter().find(|w| w.path == p) else {
                        return Ok(None);
                    };
                    let why = "a worktree the agent added";
                    Ok(Some(worktrees::remove_entry(repo, &entry, &prefix, why)?))
                })
                .await?
            }
        };
        let line = GuardLine::violation(
            Found::WorktreeAdded {
                worktree_added: path.clone(),
                rescue_ref: removed.as_ref().and_then(|r| r.rescue_ref.clone()),
            },
            removed.is_some(),
        );
        found.push((format!("worktree added at {}", path.display()), line));
    }
    for path in a.range.worktrees_removed.iter().filter(|p| !theirs(p)) {
        let line = GuardLine::violation(
            Found::WorktreeRemoved {
                worktree_removed: path.clone(),
            },
            false,
        );
        found.push((format!("worktree removed at {}", path.display()), line));
    }
    Ok(found)
}

/// Changes to the task's forbidden paths (written relative to the project root, matched
/// against repository paths), committed or not.
fn forbidden(issue: &PlannedIssue, range: &capture::PhaseRange) -> Vec<(String, GuardLine)> {
    let forbidden: Vec<String> = issue
        .spec
        .constraints
        .forbidden_paths
        .iter()
        .map(|p| match &issue.spec.root {
            Some(root) => format!("{}/{p}", root.trim_end_matches('/')),
            None => p.clone(),
        })
        .collect();
    if forbidden.is_empty() {
        return Vec::new();
    }
    let touched = range
        .diffstat
        .files
        .iter()
        .chain(range.uncommitted.iter().flat_map(|u| &u.files))
        .map(|f| f.path.as_str());
    crate::workspace::audit::forbidden_changes(&forbidden, touched)
        .into_iter()
        .map(|(path, pattern)| {
            let line = GuardLine::violation(
                Found::ForbiddenPath {
                    forbidden_path: path.to_owned(),
                    pattern: pattern.to_owned(),
                },
                false,
            );
            (format!("{path} (forbidden by `{pattern}`)"), line)
        })
        .collect()
}

/// Scans the lines the phase added (each of its commits, and what it left uncommitted) for
/// secrets; each finding goes to the guard log with its file, line and kind, never its
/// value. Returns the findings, described, unless a human approved the issue's (`orch
/// approve secrets --task ID`): then they are logged as approved and pass.
pub(in crate::engine) async fn secrets(
    host: Host<'_>,
    issue: &PlannedIssue,
    approvals: &[Approval],
    range: &capture::PhaseRange,
    dir: &Path,
) -> Result<Vec<String>, EngineError> {
    let allow = host.config.secret_allow().unwrap_or_default();
    let commits: Vec<String> = range.commits.iter().map(|c| c.oid.clone()).collect();
    let scan_uncommitted = range.uncommitted.is_some();
    let findings = git(&issue.worktree, move |repo| {
        let allowed = |p: &str| allow.is_match(p);
        let mut found = Vec::new();
        for oid in &commits {
            found.extend(secrets::scan_patch(&repo.commit_patch(oid)?, allowed));
        }
        if scan_uncommitted {
            if let Some((patch, _)) = repo.uncommitted_diff()? {
                found.extend(secrets::scan_patch(&patch, allowed));
            }
        }
        Ok(found)
    })
    .await?;
    let approved = crate::gates::approval::covering(approvals, secrets::GATE, &issue.id).is_some();
    let lines: Vec<GuardLine> = findings
        .iter()
        .map(|f| {
            let found = Found::Secret {
                secret: f.kind,
                path: f.path.clone(),
                line: f.line,
                approved,
            };
            GuardLine::violation(found, false)
        })
        .collect();
    if !lines.is_empty() {
        logs::append_guard_lines(dir, &lines)?;
    }
    if approved {
        return Ok(Vec::new());
    }
    Ok(findings
        .iter()
        .map(|f| format!("a {} at {}:{}", f.kind.name(), f.path, f.line))
        .collect())
}
