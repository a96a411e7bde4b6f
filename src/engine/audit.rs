//! The audit after each phase: refs outside the issue's stack, worktrees the agent added or
//! removed, and changes to the task's forbidden paths, each logged to the phase's guard log
//! (and put back, unless `[guard] audit_restore = false`).

use super::context::LoopContext;
use super::{git, logs, Engine, EngineError};
use crate::agent::Runner;
use crate::guard::log::{Found, GuardLine};
use crate::guard::secrets;
use crate::workspace::{capture, worktrees};
use std::path::Path;

impl<R: Runner> Engine<'_, R> {
    /// Runs the post-phase audit: refs outside the issue's stack and worktrees the agent
    /// added or removed. Every violation goes to the phase's `guard.jsonl`; refs are put back
    /// and added worktrees removed unless `[guard] audit_restore = false`.
    pub(super) async fn audit(
        &self,
        ctx: &LoopContext<'_>,
        range: &capture::PhaseRange,
        dir: &Path,
    ) -> Result<Vec<String>, EngineError> {
        let (range2, branch, stack) = (range.clone(), ctx.issue.branch.clone(), ctx.stack.clone());
        let restore = self.config.audit_restores();
        // The other issues in flight during the phase: their own work is not a violation here.
        let peers = ctx.flight.others_since(&ctx.issue.id, ctx.phase_since);
        let (peers2, worktree) = (peers.clone(), ctx.issue.worktree.clone());
        let refs = git(&self.repo_root, move |repo| {
            Ok(crate::workspace::audit::audit(
                repo,
                &range2,
                (&branch, &stack),
                &worktree,
                &peers2,
                restore,
            )?)
        })
        .await?;
        // Worktrees orch made or removed for the other issues meanwhile are theirs.
        // So are orch's clean rooms (another issue's verification).
        let peer_worktree = |path: &std::path::PathBuf| {
            peers.iter().any(|p| &p.worktree == path) || super::verify::is_clean_room(path)
        };
        let mut lines = Vec::new();
        let mut changes = Vec::new();
        for v in &refs {
            changes.push(v.name.clone());
            lines.push(GuardLine::violation(
                Found::Ref {
                    name: v.name.clone(),
                    before: v.before.clone(),
                    after: v.after.clone(),
                    also_in_flight: v.also_in_flight.clone(),
                },
                v.restored,
            ));
        }
        for path in range.worktrees_added.iter().filter(|p| !peer_worktree(p)) {
            let p = path.clone();
            let prefix = format!(
                "{}agent-worktrees/",
                worktrees::rescue_prefix(&ctx.plan.scope(), &ctx.issue.id)
            );
            let removed = if !restore {
                None
            } else {
                git(&self.repo_root, move |repo| {
                    let Some(entry) = repo.worktrees()?.into_iter().find(|w| w.path == p) else {
                        return Ok(None);
                    };
                    Ok(Some(worktrees::remove_entry(
                        repo,
                        &entry,
                        &prefix,
                        "a worktree the agent added",
                    )?))
                })
                .await?
            };
            changes.push(format!("worktree added at {}", path.display()));
            lines.push(GuardLine::violation(
                Found::WorktreeAdded {
                    worktree_added: path.clone(),
                    rescue_ref: removed.as_ref().and_then(|r| r.rescue_ref.clone()),
                },
                removed.is_some(),
            ));
        }
        for path in range.worktrees_removed.iter().filter(|p| !peer_worktree(p)) {
            changes.push(format!("worktree removed at {}", path.display()));
            lines.push(GuardLine::violation(
                Found::WorktreeRemoved {
                    worktree_removed: path.clone(),
                },
                false,
            ));
        }
        // Written relative to the project root, matched against repository paths.
        let forbidden: Vec<String> = ctx
            .issue
            .spec
            .constraints
            .forbidden_paths
            .iter()
            .map(|p| match &ctx.issue.spec.root {
                Some(root) => format!("{}/{p}", root.trim_end_matches('/')),
                None => p.clone(),
            })
            .collect();
        let forbidden = &forbidden;
        if !forbidden.is_empty() {
            let touched = range
                .diffstat
                .files
                .iter()
                .chain(range.uncommitted.iter().flat_map(|u| &u.files))
                .map(|f| f.path.as_str());
            for (path, pattern) in crate::workspace::audit::forbidden_changes(forbidden, touched) {
                changes.push(format!("{path} (forbidden by `{pattern}`)"));
                lines.push(GuardLine::violation(
                    Found::ForbiddenPath {
                        forbidden_path: path.to_owned(),
                        pattern: pattern.to_owned(),
                    },
                    false,
                ));
            }
        }
        if !lines.is_empty() {
            logs::append_guard_lines(dir, &lines)?;
        }
        Ok(changes)
    }

    /// Scans the lines the phase added (each of its commits, and what it left uncommitted)
    /// for secrets; each finding goes to the guard log with its file, line and kind, never
    /// its value. Returns the findings, described, unless a human approved the issue's
    /// (`orch approve secrets --task ID`): then they are logged as approved and pass.
    pub(super) async fn secrets(
        &self,
        ctx: &LoopContext<'_>,
        range: &capture::PhaseRange,
        dir: &Path,
    ) -> Result<Vec<String>, EngineError> {
        let allow = self.config.secret_allow().unwrap_or_default();
        let commits: Vec<String> = range.commits.iter().map(|c| c.oid.clone()).collect();
        let scan_uncommitted = range.uncommitted.is_some();
        let findings = git(&ctx.issue.worktree, move |repo| {
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
        let approved =
            crate::gates::approval::covering(&ctx.opts.approvals, secrets::GATE, &ctx.issue.id)
                .is_some();
        let lines: Vec<GuardLine> = findings
            .iter()
            .map(|f| {
                GuardLine::violation(
                    Found::Secret {
                        secret: f.kind,
                        path: f.path.clone(),
                        line: f.line,
                        approved,
                    },
                    false,
                )
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
}
