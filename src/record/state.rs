//! Run state on disk: one JSON document per run (`model::state::RunState`), rewritten
//! atomically (temp file, fsync, rename, fsync of the directory) at every transition, so a
//! run killed at any instant can be resumed exactly where it stopped. It lives in the shared
//! git dir, `.git/orch/runs/<run-id>.json`, so it never dirties the working tree.

use crate::model::state::RunState;
use std::path::{Path, PathBuf};

pub fn runs_dir(common_dir: &Path) -> PathBuf {
    common_dir.join("orch").join("runs")
}

pub fn path(common_dir: &Path, run_id: &str) -> PathBuf {
    runs_dir(common_dir).join(format!("{run_id}.json"))
}

/// Writes the state atomically, through `<run-id>.json.tmp` (which [`latest`] recovers from
/// when a crash comes between the write and the rename).
pub fn save(common_dir: &Path, state: &RunState) -> std::io::Result<()> {
    if crate::util::failpoint::fails("state-save") {
        return Err(std::io::Error::other(format!(
            "{}=state-save: the run state is not written (a test)",
            crate::util::failpoint::FAIL_ENV
        )));
    }
    let target = path(common_dir, &state.run_id);
    let bytes = serde_json::to_vec_pretty(state).expect("state serialises");
    crate::util::fsutil::replace_via(
        &target,
        &target.with_extension("json.tmp"),
        &bytes,
        Some("mid-state-write"),
    )
}

/// Every recorded run's newest state, read once: a command that asks several questions of
/// the recorded runs (which milestones ran, then the latest of one) reads each file once.
///
/// A crash between writing the temp file and renaming it leaves `<run-id>.json.tmp` beside
/// the older `<run-id>.json` (or alone, for a run killed at its first write). A temp file
/// that parses was written completely (it is synced before the rename), and is newer than
/// the document it was going to replace: it wins. A torn one does not parse and is ignored.
#[derive(Debug, Default)]
pub struct Runs(std::collections::BTreeMap<String, RunState>);

impl Runs {
    pub fn read(common_dir: &Path) -> Runs {
        Runs(read_all(common_dir))
    }

    /// The most recently updated run (of `scope`, if given).
    pub fn latest(&self, scope: Option<&crate::model::naming::Scope>) -> Option<&RunState> {
        self.latest_where(|s| scope.is_none_or(|m| &s.scope() == m))
    }

    /// The most recently updated run of a milestone of `project`.
    pub fn latest_in_project(&self, project: &str) -> Option<&RunState> {
        self.latest_where(|s| {
            s.project.as_deref() == Some(project) && s.request.plan_file.is_none()
        })
    }

    /// The most recently updated run of the plan named `milestone` (a run of issue docs of a
    /// milestone with the same name is not it).
    pub fn latest_of_plan(&self, milestone: &str) -> Option<&RunState> {
        self.latest_where(|s| s.milestone == milestone && s.request.plan_file.is_some())
    }

    /// The milestones recorded runs of issue docs are of, to resolve a milestone name against.
    pub fn scopes(&self) -> Vec<crate::model::naming::Scope> {
        let mut out: Vec<crate::model::naming::Scope> = (self.0.values())
            .filter(|s| s.request.plan_file.is_none())
            .map(|s| s.scope())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The ids of the recorded runs of `scope` (of issue docs, or of the plan of that name),
    /// oldest first.
    pub fn run_ids_of(&self, scope: &crate::model::naming::Scope) -> Vec<String> {
        let mut runs: Vec<&RunState> = self.0.values().filter(|s| &s.scope() == scope).collect();
        runs.sort_by(|a, b| (&a.started_at, &a.run_id).cmp(&(&b.started_at, &b.run_id)));
        runs.into_iter().map(|s| s.run_id.clone()).collect()
    }

    /// Every recorded run's newest state.
    pub fn into_all(self) -> Vec<RunState> {
        self.0.into_values().collect()
    }

    fn latest_where(&self, keep: impl Fn(&RunState) -> bool) -> Option<&RunState> {
        (self.0.values())
            .filter(|s| keep(s))
            .max_by(|a, b| a.recency().cmp(&b.recency()))
    }
}

/// The most recently updated run (of `scope`, if given); see [`Runs`].
pub fn latest(common_dir: &Path, scope: Option<&crate::model::naming::Scope>) -> Option<RunState> {
    Runs::read(common_dir).latest(scope).cloned()
}

/// The state of run `run_id`, if one is recorded: its two files read, not every run's (a
/// temp file that parses wins, as in [`latest`]). An id that is no file name is no run.
pub fn load(common_dir: &Path, run_id: &str) -> Option<RunState> {
    if run_id.is_empty() || run_id.starts_with('.') || run_id.contains(['/', '\\']) {
        return None;
    }
    let target = path(common_dir, run_id);
    let read = |p: &Path| {
        std::fs::read(p)
            .ok()
            .and_then(|b| serde_json::from_slice::<RunState>(&b).ok())
    };
    read(&target.with_extension("json.tmp")).or_else(|| read(&target))
}

/// The milestones recorded runs of issue docs are of; see [`Runs::scopes`].
pub fn scopes(common_dir: &Path) -> Vec<crate::model::naming::Scope> {
    Runs::read(common_dir).scopes()
}

/// The most recently updated run of the plan named `milestone`.
pub fn latest_of_plan(common_dir: &Path, milestone: &str) -> Option<RunState> {
    Runs::read(common_dir).latest_of_plan(milestone).cloned()
}

/// Every recorded run's newest state.
pub fn all(common_dir: &Path) -> Vec<RunState> {
    Runs::read(common_dir).into_all()
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
            request: Default::default(),
            base: None,
            base_commit: None,
            restart: Vec::new(),
            budget: None,
            sandbox: None,
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
            Runs::read(dir.path())
                .latest_in_project("ledger")
                .unwrap()
                .run_id,
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
        assert_eq!(load(dir.path(), "r1").unwrap().updated_at, first.updated_at);
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
        assert_eq!(load(dir.path(), "r1").unwrap().updated_at, newer.updated_at);
        // A torn temp file (killed while writing it) is ignored.
        std::fs::write(runs.join("r1.json.tmp"), b"{\"run_id\": \"r1\", \"mile").unwrap();
        assert_eq!(
            latest(dir.path(), None).unwrap().updated_at,
            first.updated_at
        );
        assert_eq!(load(dir.path(), "r1").unwrap().updated_at, first.updated_at);
        // No such run, or no file name: nothing.
        assert!(load(dir.path(), "r2").is_none());
        assert!(load(dir.path(), "../runs/r1").is_none());
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
