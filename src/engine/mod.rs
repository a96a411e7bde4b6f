//! The engine: runs a milestone's plan through a [`Runner`], several independent issues at
//! once (`jobs`), and records every phase. It emits [`EngineEvent`](crate::model::event::EngineEvent)s and never prints;
//! the CLI fans them out to the reporters.
//!
//! - `milestone`: the scheduling loop over the plan's issues (what each starts from, what it
//!   waits for); the only `impl Engine` besides this file's.
//! - `flight`: what is in flight, so one phase's audit does not count another's work.
//! - `issue`: one issue's loop ([`issue`]'s `IssueLoop`), dev → review ⇄ fix, in its own
//!   worktree.
//! - `phase`: one phase as plan → execute → judge (`phase::plan` pure, `phase::execute` the
//!   effects with its `confine`, `retry` and `audit`, `phase::judge` pure).
//! - `host`, `context`: what the parts share (the repository, config, events, interrupt; the
//!   run, the issue, the loop's progress), passed to them as arguments.
//! - `verify`, `setup`, `commands`, `submit`: functions of their own inputs for the
//!   clean-room verification, worktree set-up, the commands after a task converged, and
//!   orch's own draft submit.
//! - `step`, `resume`, `schedule`: the pure decisions (what a loop runs next; what a resume
//!   keeps or reruns; which issue starts next).
//! - `prompt`: the prompt a phase sends; `logs`: writing the log directory.

mod budget;
mod commands;
mod context;
mod flight;
mod host;
mod issue;
mod logs;
mod milestone;
pub mod phase;
mod prompt;
mod pull_request;
mod push;
mod remote;
mod remote_git;
pub mod rerun;
mod resume;
mod schedule;
mod setup;
mod step;
mod submit;
mod verify;
pub mod watch;
pub mod work;

pub use resume::runs_again;
pub use step::{next_step, Done, Step};

use crate::agent::Runner;
use crate::git::{GitError, Repo};
use crate::input::config::Config;
use crate::model::event::Reporter;
use crate::workspace::capture;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum EngineError {
    #[error("the repository is not clean: {0} problem(s); see `orch verify-clean`")]
    NotClean(usize, crate::workspace::verify_clean::CleanReport),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Capture(#[from] capture::CaptureError),
    #[error(transparent)]
    Prompt(#[from] crate::agent::prompts::PromptError),
    #[error(transparent)]
    Io(#[from] crate::util::fsutil::IoError),
}

pub struct RunOptions {
    pub run_id: String,
    /// Only this issue (its dependencies are not run).
    pub only_issue: Option<String>,
    /// The state of the run being resumed: finished issues are kept, interrupted ones
    /// continue after their last finished phase.
    pub resume: Option<crate::model::state::RunState>,
    /// Issues whose failed, blocked or capped loop a resume runs again.
    pub retry: Vec<String>,
    /// Skip the tasks' final `build`/`release` commands.
    pub no_build: bool,
    /// Approvals recorded for this milestone (see [`crate::gates::approval`]).
    pub approvals: Vec<crate::gates::approval::Approval>,
    /// Issues in flight at once (at least 1; 1 is the plan order, one at a time).
    pub jobs: usize,
    /// The budget the run is held to.
    pub budget: crate::model::budget::Limits,
    /// Issues an earlier run completed (a new run of the milestone carries them; see
    /// [`rerun`]): ended before anything runs, their final heads the base of their dependents.
    pub carried: Vec<crate::model::record::IssueSummary>,
    /// Issues run from scratch, their earlier branches set aside first (`--fresh`,
    /// `orch run --retry`).
    pub restart: Vec<String>,
    /// After the loops, watch the pull requests (`orch run --follow`, `orch watch`).
    pub follow: bool,
    /// `orch watch`: watches that ended capped or blocked start again.
    pub rewatch: bool,
    /// `orch work`: the one issue starts from this commit (another orch's run gave it), and
    /// nothing is submitted here.
    pub work: Option<crate::model::request::WorkOrder>,
    /// `orch work`: what an earlier runner left of the issue in this run, its loop going on
    /// from there (see [`work::earlier`]).
    pub earlier: Option<work::Earlier>,
    /// `--on github`: each issue's loop runs on a GitHub Actions runner (see `remote`).
    pub on_github: bool,
    /// The run's `--agent` choices (a runner is given the same).
    pub agents: Vec<String>,
}

pub struct Engine<'a, R: Runner> {
    pub repo_root: PathBuf,
    pub config: &'a Config,
    /// The phases' result schemas (the repository's overrides, checked, or the built-in).
    pub schemas: crate::agent::contract::schema::Schemas,
    pub runner: &'a R,
    /// Where the events go (each stamped once, as the engine emits it).
    pub reporter: Reporter,
    /// Turns true on SIGINT/SIGTERM.
    pub cancel: Option<tokio::sync::watch::Receiver<bool>>,
}

impl<R: Runner> Engine<'_, R> {
    /// The host of a run whose events go out through `emitter`.
    fn host<'h>(&'h self, emitter: &'h crate::model::event::Emitter) -> host::Host<'h> {
        let runner = self.runner;
        host::Host::new(
            &self.repo_root,
            self.config,
            emitter,
            &self.cancel,
            |kind| runner.agent(kind),
        )
    }

    fn tools<'h>(&'h self, host: host::Host<'h>) -> host::Tools<'h, R> {
        host::Tools {
            host,
            runner: self.runner,
            schemas: &self.schemas,
        }
    }
}

/// Runs `f` on the repository at `path` off the async runtime (see [`Repo::with`]).
async fn git<T: Send + 'static>(
    path: &Path,
    f: impl FnOnce(&Repo) -> Result<T, EngineError> + Send + 'static,
) -> Result<T, EngineError> {
    Repo::with(path, f).await
}
