//! GitHub Actions, for `orch run --on github`: dispatch orch's workflow for one issue, read
//! the workflow run it started, find the runs of a run's issue by their title (how a resume
//! re-attaches to what a killed orch dispatched), cancel one.

use super::{Forge, ForgeError};
use serde_json::{json, Value};

/// What a workflow run of orch's workflow is called: its `run-name`, from its inputs.
pub fn title(run_id: &str, issue: &str) -> String {
    format!("orch {run_id}: {issue}")
}

/// A workflow run, as orch reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowRun {
    pub id: u64,
    pub url: String,
    /// `queued`, `in_progress`, `completed`, …
    pub status: String,
    /// When completed: `success`, `failure`, `cancelled`, …
    pub conclusion: Option<String>,
    pub title: String,
}

impl WorkflowRun {
    fn from_api(v: &Value) -> Result<WorkflowRun, ForgeError> {
        let text = |k: &str| v[k].as_str().map(str::to_owned);
        match (v["id"].as_u64(), text("status")) {
            (Some(id), Some(status)) => Ok(WorkflowRun {
                id,
                url: text("html_url").unwrap_or_default(),
                status,
                conclusion: text("conclusion"),
                title: text("display_title").unwrap_or_default(),
            }),
            _ => Err(ForgeError::Decode {
                request: "a workflow run".to_owned(),
                message: "no id or status".to_owned(),
            }),
        }
    }

    pub fn completed(&self) -> bool {
        self.status == "completed"
    }
}

impl Forge {
    fn workflow_path(&self) -> String {
        // The workflow `orch init --ci github` writes, by its file name.
        let file = crate::input::workflow::PATH
            .rsplit('/')
            .next()
            .unwrap_or_default();
        format!("{}/actions/workflows/{file}", self.repo_path())
    }

    /// Dispatches orch's workflow on `git_ref` with `inputs`: the run it started, when
    /// GitHub says (`return_run_details`; older servers do not, and a run is found by title).
    pub async fn dispatch(&self, git_ref: &str, inputs: &Value) -> Result<Option<u64>, ForgeError> {
        let path = format!("{}/dispatches", self.workflow_path());
        let body = json!({"ref": git_ref, "inputs": inputs, "return_run_details": true});
        let answer = self.client.post(&path, &body).await?;
        Ok(answer["workflow_run_id"].as_u64())
    }

    /// Workflow run `id`.
    pub async fn workflow_run(&self, id: u64) -> Result<WorkflowRun, ForgeError> {
        let v = (self.client)
            .get(&format!("{}/actions/runs/{id}", self.repo_path()))
            .await?;
        WorkflowRun::from_api(&v)
    }

    /// The dispatched runs of orch's workflow titled `title`, newest first.
    pub async fn runs_titled(&self, title: &str) -> Result<Vec<WorkflowRun>, ForgeError> {
        let path = format!(
            "{}/runs?event=workflow_dispatch&per_page=100",
            self.workflow_path()
        );
        let v = self.client.get(&path).await?;
        let mut runs = Vec::new();
        for run in v["workflow_runs"].as_array().into_iter().flatten() {
            let run = WorkflowRun::from_api(run)?;
            if run.title == title {
                runs.push(run);
            }
        }
        runs.sort_by_key(|r| std::cmp::Reverse(r.id));
        Ok(runs)
    }

    /// Asks GitHub to cancel workflow run `id`.
    pub async fn cancel_run(&self, id: u64) -> Result<(), ForgeError> {
        let path = format!("{}/actions/runs/{id}/cancel", self.repo_path());
        self.client.post(&path, &json!({})).await.map(drop)
    }
}
