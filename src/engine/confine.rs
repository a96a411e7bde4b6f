//! A phase's confinement on the host side: the private temp dir and what the sandbox may
//! touch (built before the agent starts), and right after it ends, before any git call
//! there, the check that the git files deciding which repository git opens and what it runs
//! are as they were (a change is put back and is a guard violation).

use super::context::LoopContext;
use super::{logs, Engine, EngineError};
use crate::agent::sandbox::{self, Confinement};
use crate::agent::Runner;
use crate::model::layout;
use crate::workspace::gitdirs::{self, Snapshot};
use std::path::{Path, PathBuf};

/// What a phase's confinement left to do once the agent ended.
pub(super) struct Confined {
    pub confinement: Confinement,
    /// Where the shims write their guard log (the private temp dir when sandboxed: the phase's
    /// log dir is not writable to them).
    pub shim_log: PathBuf,
    snapshot: Snapshot,
}

impl<R: Runner> Engine<'_, R> {
    /// Makes the phase's private temp dir and says what its agent may touch.
    pub(super) fn confine(
        &self,
        ctx: &LoopContext<'_>,
        kind: crate::agent::PhaseKind,
        dir: &Path,
    ) -> Result<Confined, EngineError> {
        let io = super::logs::io_error;
        let worktree = &ctx.issue.worktree;
        let worktree_git =
            gitdirs::worktree_git_dir(worktree).map_err(io("read", &worktree.join(".git")))?;
        let tmp_dir = std::env::temp_dir().join(format!(
            "orch-{}-{}-{:02}",
            crate::model::naming::ref_component(&ctx.opts.run_id),
            crate::model::naming::ref_component(&ctx.issue.id),
            ctx.seq
        ));
        let _ = std::fs::remove_dir_all(&tmp_dir);
        std::fs::create_dir_all(&tmp_dir).map_err(io("create", &tmp_dir))?;
        // Private: Claude Code wants its temp dir 0700, and nobody else needs to look in.
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp_dir, std::fs::Permissions::from_mode(0o700))
                .map_err(io("chmod", &tmp_dir))?;
        }
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let agent = self.phase_agent_kind(ctx.issue, kind);
        let sandboxed = self.config.sandboxed(agent);
        let graphite_homes = sandboxed
            .then(|| self.graphite_homes(ctx.common_dir, home.as_deref()))
            .flatten();
        // Every path the profile names must exist: bubblewrap cannot mount a missing one, and
        // codex would leave a placeholder of its own that git may later remove. An empty
        // `refs/replace` (and in the Graphite variant `modules` and `hooks`) changes nothing
        // for git.
        if sandboxed {
            let mut dirs = vec![ctx.common_dir.join("refs/replace")];
            if graphite_homes.is_some() {
                dirs.extend(["modules", "hooks"].map(|d| ctx.common_dir.join(d)));
            }
            for d in dirs {
                std::fs::create_dir_all(&d).map_err(io("create", &d))?;
            }
        }
        if sandboxed && agent == crate::input::config::AgentKind::Claude {
            use crate::agent::claude_sandbox::{MASKED, MASKED_HEADER};
            crate::workspace::excludes::add(ctx.common_dir, MASKED_HEADER, MASKED)
                .map_err(io("write", &ctx.common_dir.join("info/exclude")))?;
        }
        let deny_read = match &home {
            Some(home) => {
                let codex_home = std::env::var_os("CODEX_HOME")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| home.join(".codex"));
                sandbox::secret_paths(
                    home,
                    &codex_home,
                    graphite_homes.as_deref().unwrap_or_default(),
                )
            }
            None => Vec::new(),
        };
        // Only the Graphite variant opens the common dir and so names the others.
        let other_worktrees = match graphite_homes {
            Some(_) => std::fs::read_dir(ctx.common_dir.join("worktrees"))
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| *p != worktree_git)
                .collect(),
            None => Vec::new(),
        };
        let confinement = Confinement {
            worktree: worktree.clone(),
            worktree_git: worktree_git.clone(),
            common_dir: ctx.common_dir.to_owned(),
            tmp_dir: tmp_dir.clone(),
            graphite_homes,
            other_worktrees,
            deny_read,
            network: self.config.agent_network(),
        };
        let shim_log = if sandboxed {
            tmp_dir.join(layout::GUARD_LOG)
        } else {
            dir.join(layout::GUARD_LOG)
        };
        let roots = [worktree.clone(), tmp_dir, worktree_git.clone()];
        Ok(Confined {
            snapshot: Snapshot::take(&worktree_git, ctx.common_dir, &roots),
            confinement,
            shim_log,
        })
    }

    /// How the run's agents are confined, for the records: codex's sandbox mode, or
    /// `claude:none` when claude phases run open under codex's worktree profile (or alone).
    pub(super) fn sandbox_name(&self, plan: &crate::model::plan::Plan) -> String {
        use crate::agent::PhaseKind;
        let names: Vec<&str> = [PhaseKind::Dev, PhaseKind::Review, PhaseKind::Fix]
            .iter()
            .flat_map(|k| {
                std::iter::once(self.runner.agent_name(*k))
                    .chain(plan.issues.iter().map(|i| self.phase_agent(i, *k)))
            })
            .collect();
        let codex = self.config.sandbox();
        let codex_used = names.iter().any(|n| *n != "claude");
        let claude_open = names.contains(&"claude") && !self.config.claude_sandboxed();
        match (claude_open, codex_used) {
            (true, false) => crate::input::config::SANDBOX_CLAUDE_OPEN.to_owned(),
            (true, true) if codex == crate::input::config::Sandbox::Worktree => {
                crate::input::config::SANDBOX_CLAUDE_OPEN.to_owned()
            }
            _ if !codex_used => crate::input::config::SANDBOX_WORKTREE.to_owned(),
            _ => codex.name().to_owned(),
        }
    }

    /// The agent CLI that runs `issue`'s phases of `kind` (its name, for the records): the
    /// task's own choice (a plan file's `agents:`), else the run's.
    pub(super) fn phase_agent(
        &self,
        issue: &crate::model::plan::PlannedIssue,
        kind: crate::agent::PhaseKind,
    ) -> &'static str {
        crate::agent::choice::task_agent(issue, kind)
            .map(|a| a.name())
            .unwrap_or_else(|| self.runner.agent_name(kind))
    }

    /// The same as a kind (an in-process test runner counts as codex).
    pub(super) fn phase_agent_kind(
        &self,
        issue: &crate::model::plan::PlannedIssue,
        kind: crate::agent::PhaseKind,
    ) -> crate::input::config::AgentKind {
        crate::input::config::AgentKind::parse(self.phase_agent(issue, kind)).unwrap_or_default()
    }

    /// Whether orch submits `issue`'s drafts itself: the agents of its dev and fix phases are
    /// sandboxed without a network.
    pub(super) fn orch_submits(&self, issue: &crate::model::plan::PlannedIssue) -> bool {
        use crate::agent::PhaseKind;
        let writers = [PhaseKind::Dev, PhaseKind::Fix].map(|k| self.phase_agent_kind(issue, k));
        self.config.orch_submits_drafts(&writers)
    }

    /// In a Graphite repository where gt may run, gt's own dirs under HOME (made when missing:
    /// a rule on a missing path makes codex mount a placeholder). gt unpacks a native module
    /// under `~/.cache/pkg` at its first real command, which the sandbox would refuse: orch
    /// runs one read-only gt command outside it first, once per run.
    fn graphite_homes(&self, common: &Path, home: Option<&Path>) -> Option<Vec<PathBuf>> {
        let home = home?;
        if !common.join(".graphite_repo_config").exists() {
            return None;
        }
        let gt = crate::util::process::find_real("gt")?;
        let dirs = vec![
            home.join(".config/graphite"),
            home.join(".local/share/graphite"),
        ];
        for d in &dirs {
            let _ = std::fs::create_dir_all(d);
        }
        static WARM: std::sync::Once = std::sync::Once::new();
        WARM.call_once(|| {
            // Without an upgrade check: a detached `npm view` orch would leave behind.
            let _ = std::process::Command::new(gt)
                .args(["log", "short", "--no-interactive"])
                .env("GRAPHITE_DISABLE_UPGRADE_PROMPT", "1")
                .current_dir(&self.repo_root)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        });
        Some(dirs)
    }

    /// After the agent: puts back the guarded git files (each change a violation line in the
    /// phase's guard log), moves the shims' log into the phase's, and removes the temp dir.
    /// Returns the changes, for the phase's failure.
    pub(super) fn unconfine(
        &self,
        confined: Confined,
        dir: &Path,
    ) -> Result<Vec<String>, EngineError> {
        let changes = confined.snapshot.restore();
        let guard_log = dir.join(layout::GUARD_LOG);
        if confined.shim_log != guard_log {
            let lines = crate::guard::log::read(&confined.shim_log);
            if !lines.is_empty() {
                logs::append_guard_lines(dir, &lines)?;
            }
        }
        let _ = std::fs::remove_dir_all(&confined.confinement.tmp_dir);
        let lines: Vec<crate::guard::log::GuardLine> = changes
            .iter()
            .map(|c| {
                crate::guard::log::GuardLine::violation(
                    crate::guard::log::Found::GitFile {
                        git_file: c.path.clone(),
                        change: c.what.to_string(),
                    },
                    c.restored,
                )
            })
            .collect();
        if !lines.is_empty() {
            logs::append_guard_lines(dir, &lines)?;
        }
        Ok(changes
            .iter()
            .map(|c| {
                let back = if c.restored {
                    "put back"
                } else {
                    "could not be put back"
                };
                format!("{} {} ({back})", c.path.display(), c.what)
            })
            .collect())
    }
}
