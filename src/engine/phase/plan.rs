//! A phase's plan: everything the phase will do, decided before anything is done — the
//! prompt, the agent and what it is started with, its confinement, the guard's context, its
//! limits and the checks after it. [`plan`] is a pure function of [`PhaseInputs`] (what the
//! host looked like is read beforehand into [`Surroundings`]); `execute` carries the plan out,
//! and the dry run shows the same plan's command without carrying it out.

use crate::agent::contract::Expected;
use crate::agent::sandbox::{self, Confinement};
use crate::agent::{PhaseKind, PhaseRequest};
use crate::guard::shim::{SecretHold, ShimContext};
use crate::input::config::{AgentKind, Config};
use crate::model::check::Check;
use crate::model::layout;
use crate::model::plan::{PlannedIssue, Shard};
use crate::workspace::capture::PhaseId;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// What the host looks like around one phase: read before it is planned.
#[derive(Debug, Clone, PartialEq)]
pub struct Surroundings {
    /// The repository's common git dir.
    pub common_dir: PathBuf,
    /// The worktree's own git dir (`<common>/worktrees/<name>`).
    pub worktree_git: PathBuf,
    /// Where temp dirs go.
    pub temp_root: PathBuf,
    /// The user's secret stores that exist (denied to a confined agent).
    pub secret_stores: Vec<PathBuf>,
    /// gt's own dirs under HOME, when this is a Graphite repository and gt is installed.
    pub graphite_homes: Option<Vec<PathBuf>>,
    /// The git dirs of the repository's other worktrees.
    pub other_worktrees: Vec<PathBuf>,
    /// The real `git` and `gt` the shims hand allowed commands to.
    pub real_git: Option<PathBuf>,
    pub real_gt: Option<PathBuf>,
}

/// What the host offers every phase of a run alike: read once per run, not per phase (the
/// user's secret stores, gt and git on PATH, whether this is a Graphite repository).
#[derive(Debug, Clone, PartialEq)]
pub struct HostSurvey {
    common_dir: PathBuf,
    temp_root: PathBuf,
    secret_stores: Vec<PathBuf>,
    graphite_homes: Option<Vec<PathBuf>>,
    real_git: Option<PathBuf>,
    real_gt: Option<PathBuf>,
}

impl HostSurvey {
    pub fn read(common_dir: &Path) -> HostSurvey {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let secret_stores = match &home {
            Some(home) => {
                let codex_home = std::env::var_os("CODEX_HOME")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| home.join(".codex"));
                sandbox::secret_paths(home, &codex_home, &[])
            }
            None => Vec::new(),
        };
        let real_gt = crate::util::process::find_real("gt");
        let graphite = common_dir.join(".graphite_repo_config").exists() && real_gt.is_some();
        let graphite_homes = home.filter(|_| graphite).map(|home| {
            vec![
                home.join(".config/graphite"),
                home.join(".local/share/graphite"),
            ]
        });
        HostSurvey {
            common_dir: common_dir.to_owned(),
            temp_root: std::env::temp_dir(),
            secret_stores,
            graphite_homes,
            real_git: crate::util::process::find_real("git"),
            real_gt,
        }
    }
}

impl Surroundings {
    /// Reads what is particular to the phase's worktree (it must exist: its `.git` names its
    /// git dir), beside what `host` found for the run.
    pub fn survey(worktree: &Path, host: &HostSurvey) -> std::io::Result<Surroundings> {
        let worktree_git = crate::workspace::gitdirs::worktree_git_dir(worktree)?;
        Ok(Surroundings::around(host, worktree_git))
    }

    /// What the host would look like around a worktree named `name` that is not made yet
    /// (the dry run).
    pub fn foreseen(common_dir: &Path, name: &str) -> Surroundings {
        let host = HostSurvey::read(common_dir);
        Surroundings::around(&host, common_dir.join("worktrees").join(name))
    }

    fn around(host: &HostSurvey, worktree_git: PathBuf) -> Surroundings {
        // Only the Graphite variant names the other worktrees: read them only then.
        let other_worktrees = match host.graphite_homes {
            Some(_) => (std::fs::read_dir(host.common_dir.join("worktrees")).into_iter())
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| *p != worktree_git)
                .collect(),
            None => Vec::new(),
        };
        Surroundings {
            common_dir: host.common_dir.clone(),
            worktree_git,
            temp_root: host.temp_root.clone(),
            secret_stores: host.secret_stores.clone(),
            graphite_homes: host.graphite_homes.clone(),
            other_worktrees,
            real_git: host.real_git.clone(),
            real_gt: host.real_gt.clone(),
        }
    }
}

/// Everything a phase is planned from.
pub struct PhaseInputs<'a> {
    pub id: PhaseId,
    /// The phase's log directory.
    pub dir: PathBuf,
    pub kind: PhaseKind,
    pub issue: &'a PlannedIssue,
    /// The commit the issue's branch started from.
    pub base: &'a str,
    pub config: &'a Config,
    pub repo_root: &'a Path,
    /// The agent CLI of this phase, and of the issue's dev and fix phases (`None`: an
    /// in-process runner).
    pub agent: Option<AgentKind>,
    pub dev_agent: Option<AgentKind>,
    pub fix_agent: Option<AgentKind>,
    /// The session of the issue's last dev phase.
    pub dev_session: Option<&'a str>,
    /// The issue branch and the branches its phases made on it.
    pub stack: &'a [String],
    /// The branches of the run's other issues.
    pub foreign: Vec<String>,
    /// A human approved the issue's possible secrets (`orch approve secrets`).
    pub secrets_approved: bool,
    /// The shard a dev phase works on, and whether every check of the task runs after it.
    pub shard: Option<&'a Shard>,
    pub full_gate: bool,
    pub prompt: String,
    pub expected: Expected,
    /// The agent's timeout (the task's timebox, else the configured one).
    pub timeout: Duration,
    pub around: &'a Surroundings,
}

/// How long and how the agent may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhaseLimits {
    pub timeout: Duration,
    pub stall: Option<Duration>,
    pub unreachable: Option<Duration>,
    pub max_repeats: Option<u32>,
}

/// One phase, decided.
#[derive(Debug, Clone)]
pub struct PhasePlan {
    pub id: PhaseId,
    pub dir: PathBuf,
    pub kind: PhaseKind,
    /// The agent CLI (`None`: an in-process runner, confined as codex would be).
    pub agent: Option<AgentKind>,
    /// The task chose the agent itself (a plan file's `agents:`).
    pub task_agent: Option<AgentKind>,
    pub prompt: String,
    pub expected: Arc<Expected>,
    /// What the agent's commands may write and read.
    pub confinement: Confinement,
    /// Whether its agent runs in a sandbox at all.
    pub sandboxed: bool,
    /// Directories the sandbox profile names, made before the agent starts (bubblewrap
    /// cannot mount a missing path).
    pub make_dirs: Vec<PathBuf>,
    /// Claude Code's sandbox masks files in the worktree: they go to git's excludes first.
    pub mask_for_claude: bool,
    /// What the guard's shims know (the branches that exist when the phase starts are added
    /// then).
    pub shim: ShimContext,
    pub limits: PhaseLimits,
    /// The session a fix continues.
    pub resume: Option<String>,
    /// The acceptance checks after it (run when it succeeds).
    pub checks: Vec<Check>,
    pub full_gate: bool,
    pub shard: Option<Shard>,
}

/// Plans one phase (pure: see the module doc).
pub fn plan(inputs: PhaseInputs<'_>) -> PhasePlan {
    let i = &inputs;
    let confined_as = i.agent.unwrap_or_default();
    let sandboxed = i.config.sandboxed(confined_as);
    let (confinement, make_dirs) = confinement(i, sandboxed);
    // A sandboxed agent's shims cannot write in the phase's log dir: their log goes to the
    // private temp dir and joins the phase's after it.
    let guard_log = match sandboxed {
        true => confinement.tmp_dir.join(layout::GUARD_LOG),
        false => i.dir.join(layout::GUARD_LOG),
    };
    let shim = shim_context(i, guard_log);
    // A fix continues the dev session only on the same agent CLI; otherwise it starts fresh
    // (its prompt carries the review either way).
    let resume = match i.kind {
        PhaseKind::Fix
            if i.config.codex.resume_fix.unwrap_or(true) && i.fix_agent == i.dev_agent =>
        {
            i.dev_session.map(str::to_owned)
        }
        _ => None,
    };
    let checks = match i.kind {
        PhaseKind::Review => Vec::new(),
        _ if i.full_gate => i.issue.spec.all_checks(),
        _ => i.shard.map(|s| s.acceptance.clone()).unwrap_or_default(),
    };
    let limits = PhaseLimits {
        timeout: i.timeout,
        stall: i.config.stall_timeout(),
        unreachable: i.config.unreachable_timeout(),
        max_repeats: i.config.max_repeats(),
    };
    PhasePlan {
        task_agent: crate::agent::choice::task_agent(i.issue, i.kind),
        kind: i.kind,
        agent: i.agent,
        make_dirs,
        mask_for_claude: sandboxed && confined_as == AgentKind::Claude,
        sandboxed,
        confinement,
        shim,
        limits,
        resume,
        checks,
        full_gate: i.full_gate,
        shard: i.shard.cloned(),
        expected: Arc::new(inputs.expected),
        prompt: inputs.prompt,
        id: inputs.id,
        dir: inputs.dir,
    }
}

/// What the agent's commands may write and read, and the directories the sandbox profile
/// names that must exist before it starts.
fn confinement(i: &PhaseInputs<'_>, sandboxed: bool) -> (Confinement, Vec<PathBuf>) {
    let around = i.around;
    let graphite_homes = around.graphite_homes.clone().filter(|_| sandboxed);
    let tmp_dir = around.temp_root.join(format!(
        "orch-{}-{}-{:02}",
        crate::model::naming::ref_component(&i.id.run_id),
        crate::model::naming::ref_component(&i.id.issue),
        i.id.seq
    ));
    // An empty `refs/replace` (and in the Graphite variant `modules` and `hooks`) changes
    // nothing for git.
    let mut make_dirs = Vec::new();
    if sandboxed {
        make_dirs.push(around.common_dir.join("refs/replace"));
        if graphite_homes.is_some() {
            make_dirs.extend(["modules", "hooks"].map(|d| around.common_dir.join(d)));
        }
    }
    let deny_read = sandbox::without(
        around.secret_stores.clone(),
        graphite_homes.as_deref().unwrap_or_default(),
    );
    // Only the Graphite variant opens the common dir and so names the others.
    let other_worktrees = match graphite_homes {
        Some(_) => around.other_worktrees.clone(),
        None => Vec::new(),
    };
    let confinement = Confinement {
        worktree: i.issue.worktree.clone(),
        worktree_git: around.worktree_git.clone(),
        common_dir: around.common_dir.clone(),
        tmp_dir,
        graphite_homes,
        other_worktrees,
        deny_read,
        network: i.config.agent_network(),
    };
    (confinement, make_dirs)
}

/// What the guard's shims know of the issue: its stack, the other issues' branches, and
/// (until a human approved the issue's possible secrets) what a submit must be checked for.
fn shim_context(i: &PhaseInputs<'_>, guard_log: PathBuf) -> ShimContext {
    let allow = (i.config.guard.as_ref())
        .map(|g| g.secret_allow.clone())
        .unwrap_or_default();
    ShimContext {
        real_git: i.around.real_git.clone(),
        real_gt: i.around.real_gt.clone(),
        guard_log,
        repo_root: i.repo_root.to_owned(),
        worktree: i.issue.worktree.clone(),
        issue_branch: i.issue.branch.clone(),
        stack: i.stack.to_vec(),
        preexisting: Vec::new(),
        foreign: i.foreign.clone(),
        bin_dir: PathBuf::new(),
        common_dir: Some(i.around.common_dir.clone()),
        secret_hold: (!i.secrets_approved).then(|| SecretHold {
            base: i.base.to_owned(),
            issue: i.issue.id.clone(),
            allow,
        }),
    }
}

impl PhasePlan {
    /// Where the shims write their guard log.
    pub fn shim_log(&self) -> &Path {
        &self.shim.guard_log
    }

    pub fn schema_path(&self) -> PathBuf {
        self.dir.join(layout::SCHEMA)
    }

    /// The request to the runner, with the guard's environment (`env`: the shims on PATH)
    /// and the run's callbacks; for the dry run, with none.
    pub fn request(&self, env: Vec<(String, String)>, hooks: Hooks) -> PhaseRequest {
        PhaseRequest {
            env,
            kind: self.kind,
            prompt: self.prompt.clone(),
            expect: self.expected.clone(),
            worktree: self.confinement.worktree.clone(),
            confinement: self.confinement.clone(),
            agent: self.task_agent,
            schema_path: self.schema_path(),
            timeout: self.limits.timeout,
            stall_timeout: self.limits.stall,
            unreachable_timeout: self.limits.unreachable,
            max_repeats: self.limits.max_repeats,
            resume: self.resume.clone(),
            log_dir: self.dir.clone(),
            cancel: hooks.cancel,
            on_spawn: hooks.on_spawn,
            activity: hooks.activity,
        }
    }
}

/// What a running phase tells the run, and what stops it.
#[derive(Default)]
pub struct Hooks {
    pub cancel: Option<tokio::sync::watch::Receiver<bool>>,
    pub on_spawn: Option<crate::agent::SpawnFn>,
    pub activity: Option<crate::agent::ActivityFn>,
}

/// A codex (or in-process) phase of issue `A-1` with the default configuration, for the
/// judge's table.
#[cfg(test)]
pub(crate) fn example(kind: PhaseKind, agent: Option<AgentKind>, full_gate: bool) -> PhasePlan {
    let config = Config::default();
    let issue = PlannedIssue::for_test("A-1", &[]);
    let around = Surroundings::foreseen(Path::new("/r/.git"), "a-1");
    let id = PhaseId {
        run_id: "r1".into(),
        milestone: "M1".into(),
        issue: "A-1".into(),
        seq: 2,
        phase: kind.name().into(),
    };
    plan(PhaseInputs {
        dir: PathBuf::from("/logs/A-1").join(id.dir_name()),
        id,
        kind,
        issue: &issue,
        base: "b45e",
        config: &config,
        repo_root: Path::new("/r"),
        agent,
        dev_agent: agent,
        fix_agent: agent,
        dev_session: None,
        stack: &[],
        foreign: Vec::new(),
        secrets_approved: false,
        shard: None,
        full_gate,
        prompt: String::new(),
        expected: Expected {
            schema: Arc::new(serde_json::json!({})),
            phase: kind,
            issue_id: "A-1".into(),
            milestone_id: "M1".into(),
            branch: issue.branch.clone(),
            worktree_path: String::new(),
        },
        timeout: Duration::from_secs(60),
        around: &around,
    })
}

#[cfg(test)]
mod tests;
