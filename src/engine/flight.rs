//! What is in flight in a run, for the post-phase audit: each started issue's worktree and
//! branches (its branch and the ones its phases made), and when its phases began and ended,
//! on one clock of ticks. With several issues in flight, a ref another issue's work moved
//! during this phase is that issue's, not a violation of this one; the audit asks here whose
//! it could be (see `workspace::audit::attribute`).

use crate::workspace::audit::Peer;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The issues of a run started so far, on a shared clock.
#[derive(Debug, Default)]
pub(super) struct Flight {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    tick: u64,
    issues: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone)]
struct Entry {
    worktree: PathBuf,
    base: String,
    /// The issue branch first, then the branches its phases made on top of it.
    branches: Vec<String>,
    /// When the issue ended.
    until: Option<u64>,
    /// The phase running now, since when.
    phase: Option<u64>,
}

impl Flight {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// `id` starts in `worktree` on `branch`, from `base`.
    pub fn issue_started(&self, id: &str, worktree: &Path, branch: &str, base: &str) {
        self.with(|i| {
            i.tick += 1;
            i.issues.insert(
                id.to_owned(),
                Entry {
                    worktree: worktree.to_owned(),
                    base: base.to_owned(),
                    branches: vec![branch.to_owned()],
                    until: None,
                    phase: None,
                },
            );
        })
    }

    pub fn issue_ended(&self, id: &str) {
        self.with(|i| {
            i.tick += 1;
            let tick = i.tick;
            if let Some(e) = i.issues.get_mut(id) {
                e.until = Some(tick);
                e.phase = None;
            }
        })
    }

    /// A phase of `id` starts; returns its start on the clock.
    pub fn phase_started(&self, id: &str) -> u64 {
        self.with(|i| {
            i.tick += 1;
            let tick = i.tick;
            if let Some(e) = i.issues.get_mut(id) {
                e.phase = Some(tick);
            }
            tick
        })
    }

    /// The phase of `id` ended; `stack` is the issue's stack after it.
    pub fn phase_ended(&self, id: &str, stack: &[String]) {
        self.with(|i| {
            i.tick += 1;
            if let Some(e) = i.issues.get_mut(id) {
                e.phase = None;
                for b in stack {
                    if !e.branches.contains(b) {
                        e.branches.push(b.clone());
                    }
                }
            }
        })
    }

    /// The other issues that were in flight at some time since `since`.
    pub fn others_since(&self, id: &str, since: u64) -> Vec<Peer> {
        self.with(|i| {
            i.issues
                .iter()
                .filter(|(other, e)| *other != id && e.until.is_none_or(|u| u > since))
                .map(|(other, e)| Peer {
                    id: other.clone(),
                    worktree: e.worktree.clone(),
                    base: e.base.clone(),
                    branches: e.branches.clone(),
                    phase_open: e.phase.is_some(),
                })
                .collect()
        })
    }

    /// Every branch another issue of the run owns (started or not is not known here: the
    /// caller adds the plan's issue branches).
    pub fn branches_of_others(&self, id: &str) -> Vec<String> {
        self.with(|i| {
            i.issues
                .iter()
                .filter(|(other, _)| *other != id)
                .flat_map(|(_, e)| e.branches.iter().cloned())
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn others_are_those_in_flight_during_the_window() {
        let f = Flight::default();
        f.issue_started("A", Path::new("/wt/A"), "orch/A", "c0");
        f.issue_started("B", Path::new("/wt/B"), "orch/B", "c0");
        let a = f.phase_started("A");
        f.phase_started("B");
        f.phase_ended("B", &["orch/B".into(), "orch/B-2".into()]);
        f.issue_ended("B");
        f.issue_started("C", Path::new("/wt/C"), "orch/C", "c1");
        f.phase_started("C");
        let others = f.others_since("A", a);
        let ids: Vec<_> = others
            .iter()
            .map(|o| (o.id.as_str(), o.phase_open))
            .collect();
        // B ended during A's phase, C is mid-phase.
        assert_eq!(ids, [("B", false), ("C", true)]);
        assert_eq!(others[0].branches, ["orch/B", "orch/B-2"]);
        // A phase of A that starts now overlaps C only.
        let later = f.phase_started("A");
        let ids: Vec<_> = f
            .others_since("A", later)
            .into_iter()
            .map(|o| o.id)
            .collect();
        assert_eq!(ids, ["C"]);
        assert_eq!(f.branches_of_others("C"), ["orch/A", "orch/B", "orch/B-2"]);
    }
}
