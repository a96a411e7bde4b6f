//! Which milestone, which recorded run and which logs a command means: one reading of a
//! milestone name (`<project>/<milestone>`, `--project`, orch.toml's `project`, a leading id)
//! for every command, against the docs or against the recorded runs.

use super::{hinted, plan_file_milestone, GlobalArgs, Workspace};
use crate::model::naming::Scope;
use crate::model::state::{IssueState, RunState};
use std::path::{Path, PathBuf};

/// The milestone `text` names (`ledger-api/M1`, `M1` with `--project`, a leading id) among
/// `known`. orch.toml's `project` stands in for `--project` when `text` names no project.
/// An error says what to type instead, with `command` (`orch run`) in its examples.
pub(super) fn select_scope(
    ws: &Workspace,
    text: &str,
    project: Option<&str>,
    known: &[Scope],
    command: &str,
) -> anyhow::Result<Scope> {
    crate::input::docs::select::select(text, effective_project(ws, text, project), known).map_err(
        |e| {
            let (message, mut hint) = e.explain(command);
            // A milestone planned in a doc whose issues are not written (or not assigned) yet.
            if let crate::input::docs::select::SelectError::NoMilestone { milestone, .. } = &e {
                let doc = ws
                    .load_docs()
                    .ok()
                    .and_then(|set| crate::input::docs::plan::doc_without_issues(&set, milestone));
                if let Some(doc) = doc {
                    hint = format!(
                        "{} is its milestone doc, but no issue doc says `milestone: {milestone}` yet; {hint}",
                        doc.path.display()
                    );
                }
            }
            hinted(message, hint)
        },
    )
}

/// `--project`, else orch.toml's `project` when `text` names no project itself.
fn effective_project<'a>(
    ws: &'a Workspace,
    text: &str,
    project: Option<&'a str>,
) -> Option<&'a str> {
    project.or(if text.contains('/') {
        None
    } else {
        ws.config.project.as_deref()
    })
}

/// The most recent run's state: of the milestone `milestone` names (resolved among the
/// recorded runs, as every command resolves one), of the latest run of `project`, or the
/// latest of all; or an error saying there is none.
pub(super) fn latest_state(
    ws: &Workspace,
    repo: &crate::git::Repo,
    milestone: Option<&str>,
    project: Option<&str>,
    command: &str,
) -> anyhow::Result<RunState> {
    let runs = crate::record::state::Runs::read(&repo.common_dir());
    let found = match (milestone, project) {
        (Some(text), _) => {
            use crate::input::docs::select::{select, SelectError};
            let known = runs.scopes();
            let scope = match select(text, effective_project(ws, text, project), &known) {
                Ok(scope) => scope,
                // Several runs answer to the name: say how to pick one.
                Err(
                    e @ (SelectError::InSeveralProjects { .. } | SelectError::Ambiguous { .. }),
                ) => {
                    let (message, hint) = e.explain(command);
                    return Err(hinted(message, hint));
                }
                Err(_) => {
                    let names: Vec<String> = known.iter().map(Scope::to_string).collect();
                    return Err(hinted(
                        format!("no orch run of milestone {text} found in this repository"),
                        if names.is_empty() {
                            "start one with `orch run <MILESTONE>`".to_owned()
                        } else {
                            format!("runs recorded here are of: {}", names.join(", "))
                        },
                    ));
                }
            };
            return runs.latest(Some(&scope)).cloned().ok_or_else(|| {
                hinted(
                    format!("no orch run of milestone {scope} found in this repository"),
                    "start one with `orch run <MILESTONE>`",
                )
            });
        }
        (None, Some(p)) => runs.latest_in_project(p).cloned(),
        (None, None) => runs.latest(None).cloned(),
    };
    found.ok_or_else(|| {
        hinted(
            match project {
                Some(p) => format!("no orch run of project {p} found in this repository"),
                None => "no orch run found in this repository".to_owned(),
            },
            "start one with `orch run <MILESTONE>`",
        )
    })
}

/// Which run a reading command (`status`, `report`) looks at: the last one of a milestone, of
/// a plan file, or the latest of all.
#[derive(Debug, clap::Args)]
pub struct WhichRun {
    /// The milestone: `<project>/<milestone>`, or one with --project (default: the most
    /// recent run's).
    milestone: Option<String>,
    /// The milestone's project (alone: the most recent run of that project).
    #[arg(long, value_name = "PROJECT", conflicts_with = "file")]
    project: Option<String>,
    /// The last run of this plan file (default `orchestrator.yml`).
    #[arg(long, value_name = "PLAN", num_args = 0..=1, conflicts_with = "milestone")]
    file: Option<Option<PathBuf>>,
    /// An earlier run, by its id (the latest otherwise).
    #[arg(long, value_name = "RUN_ID")]
    run: Option<String>,
}

impl WhichRun {
    pub(super) fn state(
        &self,
        global: &GlobalArgs,
        ws: &Workspace,
        repo: &crate::git::Repo,
        command: &str,
    ) -> anyhow::Result<RunState> {
        if let Some(run) = &self.run {
            return run_state(
                ws,
                repo,
                run,
                self.milestone.as_deref(),
                self.project.as_deref(),
                command,
            );
        }
        match &self.file {
            Some(file) => latest_plan_state(global, ws, repo, file.as_deref()),
            None => latest_state(
                ws,
                repo,
                self.milestone.as_deref(),
                self.project.as_deref(),
                command,
            ),
        }
    }
}

/// The state of run `run`, which must be of the milestone named, when one is.
fn run_state(
    ws: &Workspace,
    repo: &crate::git::Repo,
    run: &str,
    milestone: Option<&str>,
    project: Option<&str>,
    command: &str,
) -> anyhow::Result<RunState> {
    let common = repo.common_dir();
    let Some(state) = crate::record::state::load(&common, run) else {
        let of = match milestone {
            Some(text) => {
                let runs = crate::record::state::Runs::read(&common);
                select_scope(ws, text, project, &runs.scopes(), command)
                    .ok()
                    .map(|scope| runs.run_ids_of(&scope))
            }
            None => None,
        };
        return Err(hinted(
            format!("no run `{run}` is recorded in this repository"),
            match of {
                Some(ids) if !ids.is_empty() => {
                    format!("runs of that milestone: {}", ids.join(", "))
                }
                _ => "`orch status` names the latest run".to_owned(),
            },
        ));
    };
    if let Some(text) = milestone {
        let known = crate::record::state::scopes(&common);
        let scope = select_scope(ws, text, project, &known, command)?;
        if state.scope() != scope {
            return Err(hinted(
                format!("run {run} is of {}, not of {scope}", state.scope()),
                format!("`{command} {} --run {run}`", state.scope()),
            ));
        }
    }
    Ok(state)
}

/// The most recent run of the plan file `file` (by its name), or an error saying there is
/// none.
fn latest_plan_state(
    global: &GlobalArgs,
    ws: &Workspace,
    repo: &crate::git::Repo,
    file: Option<&Path>,
) -> anyhow::Result<RunState> {
    let name = plan_file_milestone(global, ws, file)?;
    crate::record::state::latest_of_plan(&repo.common_dir(), &name).ok_or_else(|| {
        hinted(
            format!("no orch run of plan {name} found in this repository"),
            "start one with `orch run --file <PLAN>`",
        )
    })
}

/// One run of an issue: the run's state (none for logs no recorded run names) and the
/// issue's log directory in it.
pub(super) struct IssueRun {
    pub state: Option<RunState>,
    pub dir: PathBuf,
    /// The milestone, as messages name it.
    pub milestone: String,
}

/// The recorded runs of `issue` to read its logs from: run `run` (`--run ID`); else the
/// latest run holding it of the milestone `milestone` names (resolved among the recorded
/// runs), of each milestone of `project`, or of each milestone at all. Empty when no recorded
/// run holds it.
pub(super) fn issue_runs(
    ws: &Workspace,
    repo: &crate::git::Repo,
    issue: &str,
    (milestone, project, run): (Option<&str>, Option<&str>, Option<&str>),
    command: &str,
) -> anyhow::Result<Vec<IssueRun>> {
    let common = repo.common_dir();
    let logs = ws.config.orch_logs(&repo.main_root());
    // Where the run recorded the issue's logs; else where this version puts them; else where
    // runs put them before each had its own directory (a moved tree, an old run).
    let dir_of = |state: &RunState| -> PathBuf {
        let recorded = state.issue(issue).and_then(IssueState::recorded_log_dir);
        let milestone = logs.join(state.scope().dir());
        let laid_out = crate::model::layout::issue_dir(&milestone, &state.run_id, issue);
        let legacy = milestone.join(crate::model::naming::ref_component(issue));
        let found = recorded
            .iter()
            .chain([&laid_out, &legacy])
            .find(|d| d.is_dir())
            .cloned();
        found.or(recorded).unwrap_or(laid_out)
    };
    if let Some(run) = run {
        let state = run_state(ws, repo, run, None, project, command)?;
        if state.issue(issue).is_none() {
            return Err(hinted(
                format!("issue `{issue}` is not part of run {run}"),
                format!(
                    "run {run} is of {}; see `orch status --run {run}`",
                    state.scope()
                ),
            ));
        }
        return Ok(vec![IssueRun {
            dir: dir_of(&state),
            milestone: state.scope().to_string(),
            state: Some(state),
        }]);
    }
    let runs = crate::record::state::Runs::read(&common);
    let scope = match milestone {
        Some(text) => Some(select_scope(ws, text, project, &runs.scopes(), command)?),
        None => None,
    };
    let mut latest: std::collections::BTreeMap<Scope, RunState> = Default::default();
    for state in runs.into_all() {
        let wanted = match (&scope, project) {
            (Some(scope), _) => &state.scope() == scope,
            (None, Some(p)) => state.project.as_deref() == Some(p),
            (None, None) => true,
        };
        if !wanted || state.issue(issue).is_none() {
            continue;
        }
        let newer = latest
            .get(&state.scope())
            .is_none_or(|l| l.recency() < state.recency());
        if newer {
            latest.insert(state.scope(), state);
        }
    }
    if latest.is_empty() {
        // Logs no recorded run names (its state removed): found where runs put them before
        // each run had its own directory.
        return Ok(legacy_issue_dirs(&logs, issue, scope.as_ref(), project)
            .into_iter()
            .map(|dir| IssueRun {
                milestone: dir
                    .parent()
                    .and_then(|m| m.strip_prefix(&logs).ok())
                    .map(|m| m.display().to_string())
                    .unwrap_or_default(),
                dir,
                state: None,
            })
            .collect());
    }
    Ok(latest
        .into_values()
        .map(|state| IssueRun {
            dir: dir_of(&state),
            milestone: state.scope().to_string(),
            state: Some(state),
        })
        .collect())
}

/// The log directories of `issue` in the layout before runs had their own directories,
/// `<logs>/[<project>/]<milestone>/<id>/`: of the milestone `scope`, of any milestone of
/// `project`, or of any milestone at all.
fn legacy_issue_dirs(
    logs: &Path,
    issue: &str,
    scope: Option<&Scope>,
    project: Option<&str>,
) -> Vec<PathBuf> {
    let id = crate::model::naming::ref_component(issue);
    if let Some(scope) = scope {
        let dir = logs.join(scope.dir()).join(&id);
        return if is_issue_log_dir(&dir) {
            vec![dir]
        } else {
            Vec::new()
        };
    }
    let subdirs = |dir: &Path| -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|e| {
                e.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    };
    // Milestone directories: `<logs>/<milestone>/` and `<logs>/<project>/<milestone>/`.
    let milestones: Vec<PathBuf> = match project {
        Some(p) => subdirs(&logs.join(crate::model::naming::ref_component(p))),
        None => subdirs(logs)
            .into_iter()
            .flat_map(|d| {
                let mut v = subdirs(&d);
                v.push(d);
                v
            })
            .collect(),
    };
    milestones
        .into_iter()
        .map(|m| m.join(&id))
        .filter(|d| is_issue_log_dir(d))
        .collect()
}

/// An issue's log directory holds its phases (`01-dev/`, …) or its summary.
fn is_issue_log_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name == crate::model::layout::ISSUE_SUMMARY
                || name
                    .split_once('-')
                    .is_some_and(|(n, _)| n.parse::<u32>().is_ok())
        })
    })
}
