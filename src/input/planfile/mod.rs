//! Plan files (`orchestrator.yml`, or the same structure in JSON): loading, validation and
//! conversion into the [`crate::model::plan::Plan`] the engine runs.
//!
//! A plan file is read into a located tree ([`located`]) so that every problem can name its
//! file, line and column. The tree is checked against `schemas/plan.schema.json`
//! ([`schema`]), then for what a schema cannot say (ids, dependencies, cycles, acceptance
//! lines, timeboxes, globs): every problem of the plan and of its included task files is
//! reported at once. Only a plan without errors becomes a [`PlanFile`]; [`to_plan`] orders it.

pub mod located;
pub mod schema;

mod convert;
mod load;
mod rules;

pub use convert::{milestone_name as convert_milestone, to_plan};
pub use load::load;

use crate::model::check::Check;
use crate::model::plan::{Constraints, Shard};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The plan file looked for at the repository root when none is named.
pub const DEFAULT_FILE: &str = "orchestrator.yml";

/// The plan format version this orch reads.
pub const VERSION: u64 = 1;

/// Files larger than this are refused before parsing.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// A plan file that passed every check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanFile {
    /// The plan file, as the user named it.
    pub path: PathBuf,
    pub version: u64,
    pub project: Project,
    pub orchestrator: Orchestrator,
    /// The task files pulled in by `include:`, in the order their tasks were added.
    pub included: Vec<PathBuf>,
    /// In file order: the plan's own tasks, then each included file's.
    pub tasks: Vec<Task>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Project {
    pub name: Option<String>,
    pub root: Option<String>,
    pub language: Option<String>,
    /// Default commands (`lint`, `test`, `build`, `release`, …) every task starts from.
    pub build: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Orchestrator {
    pub strategy: Option<String>,
    /// Plan-level approval gates, required for every task.
    pub approvals: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    /// `code_change | docs | test | release | deploy | chore`.
    pub kind: Option<String>,
    pub paths: Vec<String>,
    /// The task's own commands (not yet overlaid on the project's build defaults).
    pub commands: BTreeMap<String, String>,
    pub acceptance: Vec<Check>,
    pub dependencies: Vec<String>,
    pub shards: Vec<Shard>,
    pub constraints: Constraints,
    /// The task's own gates (without the plan-level ones).
    pub approvals: Vec<String>,
    /// The task's own agent per phase (`dev`, `review`, `fix` or `all` → `codex`/`claude`).
    pub agents: BTreeMap<String, String>,
    /// The file the task is written in, and where.
    pub source: PathBuf,
    pub line: usize,
    pub column: usize,
}

/// Parses a timebox: `90s`, `45m`, `2h`, `1h30m`, `1h30m15s` (units in that order, each
/// once; `ms` too).
pub fn parse_timebox(text: &str) -> Option<std::time::Duration> {
    crate::util::timeutil::parse_duration(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeboxes() {
        let secs = |t: &str| parse_timebox(t).map(|d| d.as_secs());
        assert_eq!(secs("90s"), Some(90));
        assert_eq!(secs("45m"), Some(2700));
        assert_eq!(secs("2h"), Some(7200));
        assert_eq!(secs("1h30m"), Some(5400));
        let ms = |t: &str| parse_timebox(t).map(|d| d.as_millis());
        assert_eq!(ms("250ms"), Some(250));
        assert_eq!(ms("1s500ms"), Some(1500));
        assert_eq!(ms("1m1ms"), Some(60_001));
        for bad in [
            "",
            "45",
            "m",
            "30m1h",
            "1h1h",
            "0m",
            "1.5h",
            "45 minutes",
            "-3m",
            "5ms1s",
            "1msms",
            "0ms",
        ] {
            assert_eq!(secs(bad), None, "{bad}");
        }
    }
}
