//! Run state: one JSON document per run, rewritten atomically (temp file, fsync, rename,
//! fsync of the directory) at every transition, so a run killed at any instant can be
//! resumed exactly where it stopped. It lives in the shared git dir,
//! `.git/orch/runs/<run-id>.json`, so it never dirties the working tree.
//!
//! [`StateRecorder`] is a reporter: it builds the state from the engine's events.

use crate::agent::PhaseKind;
use crate::engine::{CommandRecord, EngineEvent, IssueSummary, Outcome, PhaseRecord};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueStatus {
    Pending,
    InProgress,
    Completed,
    Failed,
    Blocked,
    Capped,
    Deferred,
    Skipped,
    Interrupted,
}

impl From<Outcome> for IssueStatus {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Completed => IssueStatus::Completed,
            Outcome::Failed => IssueStatus::Failed,
            Outcome::Blocked => IssueStatus::Blocked,
            Outcome::Capped => IssueStatus::Capped,
            Outcome::Deferred => IssueStatus::Deferred,
            Outcome::Skipped => IssueStatus::Skipped,
            Outcome::Interrupted => IssueStatus::Interrupted,
        }
    }
}

/// The phase running right now (no record yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentPhase {
    pub seq: u32,
    pub phase: PhaseKind,
    pub started_at: String,
    /// The agent's process group, once it runs: `orch resume` stops it if a killed orch
    /// left it running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<crate::agent::process::AgentProcess>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IssueState {
    pub id: String,
    pub status: IssueStatus,
    pub current_phase: Option<CurrentPhase>,
    /// Every phase that finished, in order (kept across resumes).
    pub phases: Vec<PhaseRecord>,
    /// The issue's summary once its loop ended.
    pub summary: Option<IssueSummary>,
    pub started_at: Option<String>,
    /// Task commands that ran, recorded as each ends: a resume after a crash must not run
    /// a `deploy` that already ran because the summary was never written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<CommandRecord>,
}

/// What an issue's recorded phases add up to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssueStats {
    /// Fix cycles (superseded records left out).
    pub cycles: usize,
    pub commits: usize,
    pub tokens: u64,
    pub duration_ms: u64,
    /// The verdict of the last review.
    pub last_review: Option<String>,
    pub guard: crate::engine::GuardCounts,
}

impl IssueState {
    pub fn stats(&self) -> IssueStats {
        let mut stats = IssueStats::default();
        for p in &self.phases {
            if p.phase == PhaseKind::Fix && !p.superseded {
                stats.cycles += 1;
            }
            if p.phase == PhaseKind::Review && p.status.is_some() {
                stats.last_review = p.status.clone();
            }
            stats.commits += p.commits;
            stats.tokens += p.usage.total();
            stats.duration_ms += p.duration_ms;
            stats.guard = stats.guard + p.guard;
        }
        stats
    }

    /// `in_progress`, `completed`, …
    pub fn status_name(&self) -> String {
        serde_json::to_value(self.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    pub run_id: String,
    /// The milestone's project; absent in runs of a tree without projects, of plan files,
    /// and in states written before projects were known (read as such).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    pub milestone: String,
    pub started_at: String,
    pub updated_at: String,
    pub finished: bool,
    /// The plan file a plan-mode run reads its tasks from (absolute); `None` for issue docs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_file: Option<PathBuf>,
    /// The task the run was limited to (`--task`: it and its dependencies); a resume keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// The one issue the run was limited to (`--issue`); a resume keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_issue: Option<String>,
    /// Started with `--no-build`; a resume keeps skipping `build` and `release`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_build: bool,
    /// Not-ready states the run includes (`--include-state`); a resume keeps them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include_states: Vec<String>,
    /// The branch the issue branches start from instead of the trunk (`--base`); a resume
    /// keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// Issues in plan order.
    pub issues: Vec<IssueState>,
}

impl RunState {
    pub fn issue(&self, id: &str) -> Option<&IssueState> {
        self.issues.iter().find(|i| i.id == id)
    }

    /// What the run is of: `ledger-api/M1`, `M1`, or a plan's name.
    pub fn scope(&self) -> crate::model::naming::Scope {
        crate::model::naming::Scope::new(self.project.as_deref(), &self.milestone)
    }
}

pub fn runs_dir(common_dir: &Path) -> PathBuf {
    common_dir.join("orch").join("runs")
}

pub fn path(common_dir: &Path, run_id: &str) -> PathBuf {
    runs_dir(common_dir).join(format!("{run_id}.json"))
}

/// Writes the state atomically, through `<run-id>.json.tmp` (which [`latest`] recovers from
/// when a crash comes between the write and the rename).
pub fn save(common_dir: &Path, state: &RunState) -> std::io::Result<()> {
    let target = path(common_dir, &state.run_id);
    let bytes = serde_json::to_vec_pretty(state).expect("state serialises");
    crate::util::fsutil::replace_via(
        &target,
        &target.with_extension("json.tmp"),
        &bytes,
        Some("mid-state-write"),
    )
}

/// The most recently updated run (of `scope`, if given).
///
/// A crash between writing the temp file and renaming it leaves `<run-id>.json.tmp` beside
/// the older `<run-id>.json` (or alone, for a run killed at its first write). A temp file
/// that parses was written completely (it is synced before the rename), and is newer than
/// the document it was going to replace: it wins. A torn one does not parse and is ignored.
pub fn latest(common_dir: &Path, scope: Option<&crate::model::naming::Scope>) -> Option<RunState> {
    latest_where(common_dir, |s| scope.is_none_or(|m| &s.scope() == m))
}

/// The most recently updated run of a milestone of `project`.
pub fn latest_in_project(common_dir: &Path, project: &str) -> Option<RunState> {
    latest_where(common_dir, |s| {
        s.project.as_deref() == Some(project) && s.plan_file.is_none()
    })
}

/// The milestones recorded runs of issue docs are of, to resolve a milestone name against.
pub fn scopes(common_dir: &Path) -> Vec<crate::model::naming::Scope> {
    let mut out: Vec<crate::model::naming::Scope> = read_all(common_dir)
        .into_values()
        .filter(|s| s.plan_file.is_none())
        .map(|s| s.scope())
        .collect();
    out.sort_by(|a, b| (&a.project, &a.milestone).cmp(&(&b.project, &b.milestone)));
    out.dedup();
    out
}

/// The most recently updated run of the plan named `milestone` (a run of issue docs of a
/// milestone with the same name is not it).
pub fn latest_of_plan(common_dir: &Path, milestone: &str) -> Option<RunState> {
    latest_where(common_dir, |s| {
        s.milestone == milestone && s.plan_file.is_some()
    })
}

fn latest_where(common_dir: &Path, keep: impl Fn(&RunState) -> bool) -> Option<RunState> {
    read_all(common_dir)
        .into_values()
        .filter(|s| keep(s))
        .max_by(|a, b| (&a.updated_at, &a.run_id).cmp(&(&b.updated_at, &b.run_id)))
}

/// Every run's newest state, by run id.
fn read_all(common_dir: &Path) -> std::collections::BTreeMap<String, RunState> {
    let Ok(entries) = std::fs::read_dir(runs_dir(common_dir)) else {
        return Default::default();
    };
    let mut runs: std::collections::BTreeMap<String, RunState> = Default::default();
    let mut from_tmp = std::collections::BTreeSet::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let (run_id, tmp) = match (name.strip_suffix(".json.tmp"), name.strip_suffix(".json")) {
            (Some(id), _) => (id.to_owned(), true),
            (None, Some(id)) => (id.to_owned(), false),
            _ => continue,
        };
        let Some(state) = std::fs::read(entry.path())
            .ok()
            .and_then(|b| serde_json::from_slice::<RunState>(&b).ok())
        else {
            continue;
        };
        if tmp {
            from_tmp.insert(run_id.clone());
            runs.insert(run_id, state);
        } else if !from_tmp.contains(&run_id) {
            runs.insert(run_id, state);
        }
    }
    runs
}

/// A reporter that keeps the run's state file current.
pub struct StateRecorder {
    common_dir: PathBuf,
    state: Mutex<Option<RunState>>,
    dashboard: Option<crate::report::dashboard::Dashboard>,
    plan_file: Option<PathBuf>,
    selection: Selection,
}

/// What a run was limited to, and how it runs: kept in its state so a resume does the same.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `--task`: it and its dependencies.
    pub task: Option<String>,
    /// `--issue`: that one issue.
    pub only_issue: Option<String>,
    /// `--no-build`: skip `build` and `release`.
    pub no_build: bool,
    /// `--include-state`: not-ready states to run.
    pub include_states: Vec<String>,
    /// `--base`: the branch issue branches start from.
    pub base: Option<String>,
}

impl StateRecorder {
    /// `prior` is the state being resumed, if any: its records are kept.
    pub fn new(
        common_dir: PathBuf,
        prior: Option<RunState>,
        dashboard: Option<crate::report::dashboard::Dashboard>,
    ) -> Self {
        StateRecorder {
            common_dir,
            state: Mutex::new(prior),
            dashboard,
            plan_file: None,
            selection: Selection::default(),
        }
    }

    /// A plan-mode run: the state remembers the plan file, so `orch resume` reads it again.
    pub fn with_plan_file(mut self, plan_file: Option<PathBuf>) -> Self {
        self.plan_file = plan_file;
        self
    }

    /// What the run is limited to and how it runs (see [`Selection`]).
    pub fn with_selection(mut self, selection: Selection) -> Self {
        self.selection = selection;
        self
    }

    pub fn on(&self, event: &EngineEvent) {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = crate::util::timeutil::now_rfc3339();
        match event {
            EngineEvent::RunStarted {
                run_id,
                project,
                milestone,
                issue_ids,
                ..
            } => {
                let state = guard.get_or_insert_with(|| RunState {
                    run_id: run_id.clone(),
                    project: project.clone(),
                    milestone: milestone.clone(),
                    started_at: now.clone(),
                    updated_at: now.clone(),
                    finished: false,
                    plan_file: self.plan_file.clone(),
                    task: self.selection.task.clone(),
                    only_issue: self.selection.only_issue.clone(),
                    no_build: self.selection.no_build,
                    include_states: self.selection.include_states.clone(),
                    base: self.selection.base.clone(),
                    issues: Vec::new(),
                });
                state.finished = false;
                for id in issue_ids {
                    if state.issue(id).is_none() {
                        state.issues.push(IssueState {
                            id: id.clone(),
                            status: IssueStatus::Pending,
                            current_phase: None,
                            phases: Vec::new(),
                            summary: None,
                            started_at: None,
                            commands: Vec::new(),
                        });
                    }
                }
            }
            EngineEvent::IssueStarted { id, .. } => {
                if let Some(i) = issue_mut(&mut guard, id) {
                    // A task waiting for an approval is looked at again (its gated command
                    // may run now): in progress until it ends again.
                    let waiting = i.summary.as_ref().is_some_and(|s| s.awaits_approval());
                    if i.summary.is_none() || i.status == IssueStatus::Interrupted || waiting {
                        i.status = IssueStatus::InProgress;
                        i.started_at.get_or_insert(now.clone());
                    }
                    if waiting {
                        i.summary = None;
                    }
                }
            }
            EngineEvent::PhaseStarted { id, seq, phase } => {
                if let Some(i) = issue_mut(&mut guard, id) {
                    i.status = IssueStatus::InProgress;
                    i.summary = None;
                    i.current_phase = Some(CurrentPhase {
                        seq: *seq,
                        phase: *phase,
                        started_at: now.clone(),
                        agent: None,
                    });
                }
            }
            EngineEvent::AgentStarted { id, seq, agent } => {
                if let Some(current) = issue_mut(&mut guard, id)
                    .and_then(|i| i.current_phase.as_mut())
                    .filter(|c| c.seq == *seq)
                {
                    current.agent = Some(agent.clone());
                }
            }
            EngineEvent::PhaseFinished { id, record } => {
                if let Some(i) = issue_mut(&mut guard, id) {
                    i.current_phase = None;
                    i.phases.retain(|p| p.seq != record.seq);
                    i.phases.push(record.clone());
                }
            }
            EngineEvent::CommandRun { id, record, .. } => {
                if let Some(i) = issue_mut(&mut guard, id) {
                    i.commands.retain(|c| c.name != record.name);
                    i.commands.push(record.clone());
                }
            }
            EngineEvent::IssueFinished { summary } => {
                if let Some(i) = issue_mut(&mut guard, &summary.id) {
                    i.status = summary.outcome.into();
                    i.current_phase = None;
                    i.phases = summary.phases.clone();
                    i.summary = Some(summary.clone());
                }
            }
            EngineEvent::RunFinished { .. } => {
                if let Some(s) = guard.as_mut() {
                    // A task waiting for an approval goes on with `orch resume`: not finished.
                    s.finished = !s.issues.iter().any(|i| {
                        matches!(
                            i.status,
                            IssueStatus::InProgress
                                | IssueStatus::Interrupted
                                | IssueStatus::Pending
                        ) || i.summary.as_ref().is_some_and(|s| s.awaits_approval())
                    });
                }
            }
            EngineEvent::WorktreeReady { .. }
            | EngineEvent::Activity { .. }
            | EngineEvent::ShardStarted { .. }
            | EngineEvent::AcceptanceChecked { .. }
            | EngineEvent::AwaitingApproval { .. }
            | EngineEvent::BaseFallback { .. }
            | EngineEvent::PhaseRetry { .. } => return,
        }
        if let Some(state) = guard.as_mut() {
            state.updated_at = now;
            if let Err(e) = save(&self.common_dir, state) {
                tracing::error!("cannot write the run state: {e}");
            }
            if let Some(dashboard) = &self.dashboard {
                dashboard.write(state);
            }
        }
    }
}

fn issue_mut<'a>(state: &'a mut Option<RunState>, id: &str) -> Option<&'a mut IssueState> {
    state.as_mut()?.issues.iter_mut().find(|i| i.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(run_id: &str, updated_at: &str) -> RunState {
        RunState {
            run_id: run_id.to_owned(),
            project: None,
            milestone: "M1".to_owned(),
            started_at: "2026-01-01T00:00:00Z".to_owned(),
            updated_at: updated_at.to_owned(),
            finished: false,
            plan_file: None,
            task: None,
            only_issue: None,
            no_build: false,
            include_states: Vec::new(),
            base: None,
            issues: Vec::new(),
        }
    }

    #[test]
    fn runs_are_found_by_scope_and_old_states_read_without_a_project() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = state("r1", "2026-01-01T00:00:01Z");
        a.project = Some("ledger".into());
        let mut b = state("r2", "2026-01-01T00:00:02Z");
        b.project = Some("web".into());
        save(dir.path(), &a).unwrap();
        save(dir.path(), &b).unwrap();
        // A state written before projects: no `project` key at all.
        let old = serde_json::json!({"run_id": "r0", "milestone": "M1",
            "started_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "finished": true, "issues": []});
        std::fs::write(path(dir.path(), "r0"), old.to_string()).unwrap();
        let scope = |p: Option<&str>| crate::model::naming::Scope::new(p, "M1");
        assert_eq!(
            latest(dir.path(), Some(&scope(Some("ledger"))))
                .unwrap()
                .run_id,
            "r1"
        );
        assert_eq!(latest(dir.path(), Some(&scope(None))).unwrap().run_id, "r0");
        assert_eq!(latest(dir.path(), None).unwrap().run_id, "r2");
        assert_eq!(
            latest_in_project(dir.path(), "ledger").unwrap().run_id,
            "r1"
        );
        assert_eq!(
            scopes(dir.path()),
            [scope(None), scope(Some("ledger")), scope(Some("web"))]
        );
    }

    #[test]
    fn a_complete_temp_file_left_by_a_crash_is_the_latest_state() {
        let dir = tempfile::tempdir().unwrap();
        let runs = runs_dir(dir.path());
        std::fs::create_dir_all(&runs).unwrap();
        // Killed before the first rename: only the temp file exists.
        let first = state("r1", "2026-01-01T00:00:01Z");
        std::fs::write(
            runs.join("r1.json.tmp"),
            serde_json::to_vec(&first).unwrap(),
        )
        .unwrap();
        assert_eq!(
            latest(dir.path(), None).unwrap().updated_at,
            first.updated_at
        );
        // Killed between writing a newer state and renaming it over the old one.
        save(dir.path(), &first).unwrap();
        let newer = state("r1", "2026-01-01T00:00:02Z");
        std::fs::write(
            runs.join("r1.json.tmp"),
            serde_json::to_vec(&newer).unwrap(),
        )
        .unwrap();
        assert_eq!(
            latest(dir.path(), None).unwrap().updated_at,
            newer.updated_at
        );
        // A torn temp file (killed while writing it) is ignored.
        std::fs::write(runs.join("r1.json.tmp"), b"{\"run_id\": \"r1\", \"mile").unwrap();
        assert_eq!(
            latest(dir.path(), None).unwrap().updated_at,
            first.updated_at
        );
        // The next save replaces both.
        save(dir.path(), &newer).unwrap();
        assert!(!runs.join("r1.json.tmp").exists());
        assert_eq!(
            latest(
                dir.path(),
                Some(&crate::model::naming::Scope::new(None, "M1"))
            )
            .unwrap()
            .updated_at,
            newer.updated_at
        );
        assert!(latest(
            dir.path(),
            Some(&crate::model::naming::Scope::new(None, "M2"))
        )
        .is_none());
    }
}
