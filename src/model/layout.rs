//! The run's log directory, `logs/orch/<project>/<milestone>/`, and every file name in it.
//!
//! ```text
//! run-<run-id>.json                       the run's summary
//! events-<run-id>.jsonl                   the event log
//! <run-id>/<issue>/summary.json           the issue's summary
//! <run-id>/<issue>/commands/<name>.log    its finishing commands' output
//! <run-id>/<issue>/<NN>-<phase>/          one phase: the files below
//! ```
//!
//! Each run has its own directory, so two runs of a milestone never share or overwrite a
//! phase's logs (runs recorded before that kept `<issue>/` beside the run files; their
//! records name those paths, and readers go by the records).
//!
//! Writers (engine, agent runners, capture, shim) and readers (report, diff, guard, event
//! log) name these files through this module only, so the layout is read in one place.

use std::path::{Path, PathBuf};

/// The prompt as sent (redacted).
pub const PROMPT: &str = "prompt.md";
/// The result schema the agent was given.
pub const SCHEMA: &str = "schema.json";
/// The phase's valid result (redacted).
pub const RESULT: &str = "result.json";
/// Why the phase has no valid result.
pub const FAILURE: &str = "failure.json";
/// Every gt/git command the agent attempted, and each audit violation.
pub const GUARD_LOG: &str = "guard.jsonl";
/// The phase's commit range (see `workspace::capture`).
pub const RANGE: &str = "range.json";
/// What the phase left uncommitted, as a patch.
pub const UNCOMMITTED_PATCH: &str = "uncommitted.patch";
/// The agent's raw event stream.
pub const EVENTS: &str = "events.jsonl";
/// The agent's standard error.
pub const STDERR: &str = "stderr.log";
/// The acceptance checks' outcomes after the phase.
pub const ACCEPTANCE: &str = "acceptance.json";
/// One log per acceptance check.
pub const ACCEPTANCE_LOGS: &str = "acceptance";
/// The guard's per-phase `bin/` (the gt/git shims).
pub const SHIM_BIN: &str = "bin";
/// The shims' context.
pub const SHIM_CONTEXT: &str = "guard-context.json";
/// The `BASH_ENV` prelude keeping the shims first on PATH.
pub const BASH_ENV: &str = "bash-env.sh";
/// What `[worktree] copy` and `setup` did in the issue's new worktree.
pub const SETUP_LOG: &str = "setup.log";
/// Written once the issue's worktree is set up (a resume then does not set it up again).
pub const SETUP_DONE: &str = "setup.done";
/// What `[worktree] teardown` printed before the worktree was removed.
pub const TEARDOWN_LOG: &str = "teardown.log";
/// An issue's summary, in its directory.
pub const ISSUE_SUMMARY: &str = "summary.json";

/// `run-<run-id>.json`, in the milestone's log directory.
pub fn run_summary(logs: &Path, run_id: &str) -> PathBuf {
    logs.join(format!("run-{run_id}.json"))
}

/// `events-<run-id>.jsonl`, in the milestone's log directory.
pub fn event_log(logs: &Path, run_id: &str) -> PathBuf {
    logs.join(format!(
        "events-{}.jsonl",
        crate::model::naming::ref_component(run_id)
    ))
}

/// `<run-id>/`, the run's own directory in the milestone's log directory.
pub fn run_dir(logs: &Path, run_id: &str) -> PathBuf {
    logs.join(crate::model::naming::ref_component(run_id))
}

/// `<run-id>/<issue>/`, in the milestone's log directory.
pub fn issue_dir(logs: &Path, run_id: &str, issue: &str) -> PathBuf {
    run_dir(logs, run_id).join(crate::model::naming::ref_component(issue))
}

/// `<issue>/commands/<name>.log`.
pub fn command_log(issue_dir: &Path, name: &str) -> PathBuf {
    issue_dir
        .join("commands")
        .join(format!("{}.log", crate::model::naming::ref_component(name)))
}

/// `<NN>-<phase>`, the name of a phase's directory in its issue's.
pub fn phase_dir_name(seq: u32, phase: &str) -> String {
    format!("{seq:02}-{}", crate::model::naming::ref_component(phase))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_documented_ones() {
        let logs = Path::new("logs/orch/p/M1");
        assert_eq!(
            run_summary(logs, "r1"),
            Path::new("logs/orch/p/M1/run-r1.json")
        );
        assert_eq!(
            event_log(logs, "r1"),
            Path::new("logs/orch/p/M1/events-r1.jsonl")
        );
        let issue = issue_dir(logs, "r1", "ISSUE-1");
        assert_eq!(issue, Path::new("logs/orch/p/M1/r1/ISSUE-1"));
        assert_eq!(
            command_log(&issue, "build"),
            Path::new("logs/orch/p/M1/r1/ISSUE-1/commands/build.log")
        );
        assert_eq!(phase_dir_name(3, "fix"), "03-fix");
    }
}
