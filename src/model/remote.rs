//! Issues run on CI runners (`orch run --on github`): what the dispatching run records of
//! each dispatch (so a resume re-attaches instead of dispatching twice), and where an
//! imported result says it ran.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A dispatch of an issue's workflow run, recorded as soon as GitHub names the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dispatched {
    /// The workflow run's id.
    pub workflow_run: u64,
    pub url: String,
    /// 1 for the first dispatch of the issue in this run, then 2, … (a runner lost).
    pub attempt: u32,
}

/// Where an imported result ran, and with what (its `provenance.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RanOn {
    /// The runner's name (`runner.name`).
    #[serde(default)]
    pub runner: Option<String>,
    /// The workflow run's page.
    #[serde(default)]
    pub workflow_run: Option<String>,
    /// The orch version that worked it.
    pub orch: String,
    /// Each agent CLI it used, with what its `--version` said.
    #[serde(default)]
    pub agents: BTreeMap<String, Option<String>>,
    #[serde(default)]
    pub host: String,
    /// The result commit imported. Set here, never taken from the runner's provenance: a
    /// resume that finds the same commit again knows no new result came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// The dispatch it was (1, 2, …), set here: the attempts without a result are counted
    /// from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
}
