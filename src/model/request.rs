//! What a run is asked for, in one value: the plan file it reads (for a plan-mode run), what
//! it is limited to (`--task`, `--issue`, `--include-state`), and how it runs (`--no-build`,
//! `--agent`). Built once from the command line, stored in the run state as it is, and given
//! back whole to the resume that continues the run, so it asks for the same.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRequest {
    /// The plan file a plan-mode run reads its tasks from (absolute); `None` for issue docs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_file: Option<PathBuf>,
    /// `--task`: it and its dependencies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// `--issue`: that one issue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_issue: Option<String>,
    /// `--no-build`: skip the tasks' `build` and `release`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_build: bool,
    /// `--include-state`: not-ready states to run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include_states: Vec<String>,
    /// `--agent PHASE=AGENT`: the run's choices over orch.toml's (a resume keeps them unless
    /// given its own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<String>,
    /// `--follow` (or `orch watch`): after the loops, watch the issues' pull requests and
    /// fix what their checks and reviewers report.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub follow: bool,
    /// `orch work`: one issue of another orch's run, worked here (a CI runner) from the
    /// commit that orch gave, and delivered back by a push.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work: Option<WorkOrder>,
    /// `--on github`: each issue's loop runs on a GitHub Actions runner, dispatched through
    /// the workflow `orch init --ci github` writes; the results are imported here.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub on_github: bool,
}

/// What the orch that dispatched an issue says of it: the run it belongs to and the commit
/// its branch starts from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkOrder {
    pub run_id: String,
    pub base: String,
    /// Whether the issue is retried (`orch resume --retry` there): the last phase an earlier
    /// runner ended is done again, as a local resume does it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retry: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_the_same_keys_the_run_state_always_had() {
        let request = RunRequest {
            plan_file: Some("/r/orchestrator.yml".into()),
            task: Some("T-2".into()),
            only_issue: None,
            no_build: true,
            include_states: vec!["backlog".into()],
            agents: vec!["review=claude".into()],
            follow: false,
            work: None,
            on_github: false,
        };
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"plan_file": "/r/orchestrator.yml", "task": "T-2", "no_build": true,
                "include_states": ["backlog"], "agents": ["review=claude"]})
        );
        assert_eq!(serde_json::from_value::<RunRequest>(json).unwrap(), request);
        let empty: RunRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, RunRequest::default());
    }
}
