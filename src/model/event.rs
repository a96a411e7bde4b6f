//! What the engine tells its reporters: the one interface between running a milestone and
//! everything that watches it (the run state, the event log, the dashboard, the terminal).

use super::check::CheckOutcome;
use super::phase::{AgentProcess, PhaseKind};
use super::record::{CommandRecord, IssueSummary, PhaseRecord, RunSummary};
use std::path::PathBuf;
use std::sync::Arc;

/// What the engine tells reporters.
#[derive(Debug, Clone)]
pub enum EngineEvent {
    RunStarted {
        run_id: String,
        /// The milestone's project (`None` in a tree without projects, and for plan files).
        project: Option<String>,
        milestone: String,
        issues: usize,
        /// The issues of this run, in order.
        issue_ids: Vec<String>,
        log_dir: PathBuf,
        /// Continuing an earlier run.
        resumed: bool,
        /// The budget the run is held to (from now on, for a resume).
        budget: crate::model::budget::Limits,
        /// How the agent's commands are confined (`worktree`, or the codex mode named).
        sandbox: String,
        /// The branch issues start from when nothing of the run comes before them (the one
        /// checked out, `--base`, or the trunk where HEAD is detached), and its commit.
        base: String,
        base_commit: String,
        /// Issues an earlier run completed: not run again, finished before anything runs.
        carried: Vec<crate::model::record::IssueSummary>,
        /// Issues run again from scratch (`--fresh`, `--retry`): their earlier branches are set
        /// aside under rescue refs before anything runs.
        restart: Vec<String>,
    },
    /// An issue's earlier branch (and worktree) was set aside before it runs from scratch.
    BranchSetAside {
        id: String,
        set_aside: crate::model::state::SetAside,
    },
    IssueStarted {
        id: String,
        position: usize,
        total: usize,
    },
    WorktreeReady {
        id: String,
        path: PathBuf,
        created: bool,
    },
    PhaseStarted {
        id: String,
        seq: u32,
        phase: PhaseKind,
        /// The agent CLI running it (`codex`, `claude`).
        agent: String,
    },
    /// What the agent is doing: a command or an edit as it starts, and as it ends (`done`,
    /// with a command's exit code when the agent says it).
    Activity {
        id: String,
        phase: PhaseKind,
        text: String,
        done: bool,
        exit_code: Option<i32>,
    },
    /// The guard refused a gt/git command the agent attempted (`gt sync`), by `rule`.
    GuardRefused {
        id: String,
        command: String,
        rule: String,
    },
    /// The phase's agent is running as this process group (recorded for `orch resume`).
    AgentStarted {
        id: String,
        seq: u32,
        agent: AgentProcess,
    },
    PhaseFinished {
        id: String,
        record: PhaseRecord,
    },
    /// A dev phase for one shard of a plan task is about to start.
    ShardStarted {
        id: String,
        shard: String,
        title: String,
    },
    /// Acceptance checks ran in the worktree after a phase.
    AcceptanceChecked {
        id: String,
        seq: u32,
        phase: PhaseKind,
        shard: Option<String>,
        outcomes: Vec<CheckOutcome>,
    },
    /// The issue's final head was verified in a clean checkout; `record` is the review phase
    /// it followed, its acceptance now the verification's gate.
    Verified {
        id: String,
        record: PhaseRecord,
        verification: crate::model::record::Verification,
    },
    /// A task command (`build`, `deploy`, …) ran.
    CommandRun {
        id: String,
        name: String,
        record: CommandRecord,
    },
    /// A task with several dependencies could not start from their merged work (it conflicts)
    /// and starts from the trunk instead.
    BaseFallback {
        id: String,
        reason: String,
    },
    /// orch pushed an issue's branch and opened its draft pull request (`created`), or found
    /// the one already open for it.
    PullRequest {
        id: String,
        pull: crate::model::record::PullRecord,
        created: bool,
    },
    /// An issue's loop was dispatched to a CI runner (or a resume found the run it had
    /// dispatched): recorded before the run is followed.
    Dispatched {
        id: String,
        record: crate::model::remote::Dispatched,
        /// A run found again, not a new dispatch.
        attached: bool,
    },
    /// The watch of an issue's pull request changed: what it saw, a fix begun or done, a
    /// reply made, or how it ended.
    Watched {
        id: String,
        record: crate::model::forge::WatchRecord,
        /// What changed, for people (`checks pass`, `fixing: 1 failed check (test)`).
        note: String,
    },
    /// Something about the forge the user should read once: why drafts are not submitted,
    /// a rate limit waited out. `id` names the issue it concerns, if one.
    ForgeNote {
        id: Option<String>,
        message: String,
    },
    /// A task waits for `orch approve <gate>`.
    AwaitingApproval {
        id: String,
        gate: String,
    },
    /// A phase failed in a way that may pass on another try (network, server error); orch
    /// waits `delay_ms` and runs it again.
    PhaseRetry {
        id: String,
        seq: u32,
        phase: PhaseKind,
        attempt: u32,
        reason: String,
        delay_ms: u64,
    },
    /// A phase is about to start with this much of the budget held for it.
    BudgetReserved {
        id: String,
        seq: u32,
        phase: PhaseKind,
        reserve: crate::model::budget::Spend,
        /// What the run had spent before it.
        spent: crate::model::budget::Spend,
    },
    /// A budget is spent: the phase named did not start (or, overshot, the phase that ended
    /// took it past its limit); with the run's budget, nothing more starts.
    BudgetExhausted {
        id: String,
        stop: crate::model::budget::BudgetStop,
        /// The phase that took it past the limit, when one did.
        overshot_by: Option<u32>,
    },
    IssueFinished {
        summary: IssueSummary,
    },
    /// An ended issue's summary changed after its end (a fix its pull request asked for ran,
    /// its branch was pushed).
    IssueUpdated {
        summary: IssueSummary,
    },
    RunFinished {
        summary: RunSummary,
    },
}

/// An event as every reporter gets it: stamped once, as the engine emits it, with the wall
/// clock (RFC 3339) and the time since the run started.
#[derive(Debug, Clone, Copy)]
pub struct Stamped<'a> {
    pub ts: &'a str,
    pub elapsed_ms: u64,
    pub event: &'a EngineEvent,
}

/// Where the engine's events go.
pub type Reporter = Arc<dyn Fn(&Stamped<'_>) + Send + Sync>;

/// Stamps each event once and hands it to the reporter.
#[derive(Clone)]
pub struct Emitter {
    reporter: Reporter,
    started: std::time::Instant,
}

impl Emitter {
    /// An emitter whose clock starts now.
    pub fn new(reporter: Reporter) -> Emitter {
        Emitter {
            reporter,
            started: std::time::Instant::now(),
        }
    }

    pub fn emit(&self, event: &EngineEvent) {
        let ts = crate::util::timeutil::now_rfc3339();
        (self.reporter)(&Stamped {
            ts: &ts,
            elapsed_ms: self.started.elapsed().as_millis() as u64,
            event,
        })
    }
}

/// One reader of the run's events (the run state, the event log, the terminal). A write
/// that fails says so: what the failure means for the run (the state is the resume point; the
/// event log is not) is the caller's to decide.
pub trait Report: Send + Sync {
    fn write(&self, event: &Stamped<'_>) -> Result<(), ReportError>;
}

/// A reporter could not write what it keeps.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {what} {}: {source}", path.display())]
pub struct ReportError {
    /// `the run state`, `the event log`, …
    pub what: &'static str,
    pub path: std::path::PathBuf,
    #[source]
    pub source: std::io::Error,
}
