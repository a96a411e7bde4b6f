//! Per-phase capture: what a phase started from, what it ended at, and everything in
//! between — commits, diffstat, the issue's stack, uncommitted leftovers — stored as
//! `range.json` beside the phase's logs and pinned under `refs/orch/runs/…` so the commits
//! stay reachable whatever happens to the branches later.

use crate::git::{ChangedFile, CommitInfo, DiffStat, GitError, ObjectId, Repo};
use crate::model::naming;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use thiserror::Error;

use crate::model::layout::{RANGE as RANGE_FILE, UNCOMMITTED_PATCH};

#[derive(Debug, Error)]
pub enum CaptureError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Io(#[from] crate::util::fsutil::IoError),
    #[error("{} is not a valid range record", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("the worktree has no commit to start a phase from")]
    NoHead,
}

/// Taken before a phase starts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseStart {
    /// The worktree's branch (the issue branch, or one stacked on it).
    pub branch: Option<String>,
    pub head: ObjectId,
    /// Every ref of the repository, for the audit.
    pub refs: BTreeMap<String, String>,
    /// Registered linked worktrees (paths), for the audit.
    #[serde(default)]
    pub worktrees: Vec<PathBuf>,
}

/// Identifies one phase of one issue in one run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PhaseId {
    pub run_id: String,
    pub milestone: String,
    pub issue: String,
    /// 1-based order of the phase within the issue.
    pub seq: u32,
    /// `dev`, `review`, `fix`.
    pub phase: String,
}

impl PhaseId {
    /// `NN-phase`, the phase's directory name and ref leaf.
    pub fn dir_name(&self) -> String {
        crate::model::layout::phase_dir_name(self.seq, &self.phase)
    }

    /// `refs/orch/runs/<run-id>/<id>/<NN>-<phase>`.
    pub fn pin_ref(&self) -> String {
        naming::pins_prefix(&self.run_id, &self.issue) + &self.dir_name()
    }
}

/// A branch of the issue's stack after a phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackBranch {
    pub name: String,
    pub oid: ObjectId,
    /// Created during this phase.
    pub created: bool,
}

/// A ref outside the worktree's own HEAD that changed during the phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefChange {
    pub name: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uncommitted {
    pub files: Vec<ChangedFile>,
    /// The patch file beside `range.json`.
    pub patch_file: String,
}

/// `range.json`: what one phase changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseRange {
    #[serde(flatten)]
    pub id: PhaseId,
    pub base: ObjectId,
    pub head: ObjectId,
    pub branch_before: Option<String>,
    pub branch_after: Option<String>,
    pub commits: Vec<CommitInfo>,
    pub diffstat: DiffStat,
    /// The issue branch and every branch stacked on it.
    pub stack: Vec<StackBranch>,
    /// Changes the agent left without committing (recorded, never committed by orch).
    pub uncommitted: Option<Uncommitted>,
    /// The ref keeping `head` reachable.
    pub pinned_ref: String,
    /// Refs created, moved or deleted during the phase (excluding orch's own).
    pub refs_changed: Vec<RefChange>,
    /// Linked worktrees registered during the phase.
    #[serde(default)]
    pub worktrees_added: Vec<PathBuf>,
    /// Linked worktrees that disappeared during the phase.
    #[serde(default)]
    pub worktrees_removed: Vec<PathBuf>,
}

/// Records the worktree's HEAD and every ref before a phase.
pub fn begin(worktree: &Repo) -> Result<PhaseStart, CaptureError> {
    let head = worktree.head()?;
    Ok(PhaseStart {
        branch: head.branch,
        head: head.oid.ok_or(CaptureError::NoHead)?,
        refs: worktree.ref_snapshot()?,
        worktrees: worktree.worktrees()?.into_iter().map(|w| w.path).collect(),
    })
}

/// Records what the phase did, pins its head, and writes `range.json` (and the uncommitted
/// patch, if any) into `phase_dir`.
pub fn finish(
    worktree: &Repo,
    issue_branch: &str,
    start: &PhaseStart,
    id: PhaseId,
    phase_dir: &Path,
    (foreign, peers): (&[String], &[PathBuf]),
) -> Result<PhaseRange, CaptureError> {
    let head_now = worktree.head()?;
    let head = head_now.oid.clone().unwrap_or_else(|| start.head.clone());
    let pinned_ref = id.pin_ref();
    worktree.set_ref(
        &pinned_ref,
        &head,
        &format!("orch: pin {} of {}", id.dir_name(), id.issue),
    )?;

    let commits = worktree.commits_between(&start.head, &head)?;
    let diffstat = worktree.diff_stat(&start.head, &head)?;
    let refs_after = worktree.ref_snapshot()?;
    let refs_changed = ref_changes(&start.refs, &refs_after);
    let stack = stack(worktree, issue_branch, start, &refs_after, (foreign, peers))?;
    let worktrees_after: Vec<PathBuf> = worktree.worktrees()?.into_iter().map(|w| w.path).collect();
    let worktrees_added = worktrees_after
        .iter()
        .filter(|w| !start.worktrees.contains(w))
        .cloned()
        .collect();
    let worktrees_removed = start
        .worktrees
        .iter()
        .filter(|w| !worktrees_after.contains(w))
        .cloned()
        .collect();

    std::fs::create_dir_all(phase_dir).map_err(|source| {
        CaptureError::Io(crate::util::fsutil::IoError {
            action: "create the phase directory",
            path: phase_dir.to_owned(),
            source,
        })
    })?;
    let uncommitted = match worktree.uncommitted_diff()? {
        Some((patch, stat)) => {
            let path = phase_dir.join(UNCOMMITTED_PATCH);
            // A record to read (the rescue ref keeps the work itself): secrets redacted.
            write_atomic(&path, crate::util::redact::redact(&patch).as_bytes())?;
            Some(Uncommitted {
                files: stat.files,
                patch_file: UNCOMMITTED_PATCH.to_owned(),
            })
        }
        None => None,
    };
    let range = PhaseRange {
        id,
        base: start.head.clone(),
        head,
        branch_before: start.branch.clone(),
        branch_after: head_now.branch,
        commits,
        diffstat,
        stack,
        uncommitted,
        pinned_ref,
        refs_changed,
        worktrees_added,
        worktrees_removed,
    };
    // Commit subjects and paths are the agent's text: secrets redacted (never JSON syntax).
    let json = serde_json::to_string_pretty(&range).expect("range serialises");
    write_atomic(
        &phase_dir.join(RANGE_FILE),
        crate::util::redact::redact(&json).as_bytes(),
    )?;
    Ok(range)
}

fn ref_changes(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> Vec<RefChange> {
    let names: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    names
        .into_iter()
        .filter(|n| !n.starts_with("refs/orch/"))
        .filter(|n| before.get(*n) != after.get(*n))
        .map(|n| RefChange {
            name: n.clone(),
            before: before.get(n).cloned(),
            after: after.get(n).cloned(),
        })
        .collect()
}

/// The issue branch plus every local branch whose tip descends from the issue branch's tip
/// at phase start and that is new or moved during the phase (e.g. made by `gt create`),
/// except the `foreign` branches of other issues (a sibling starting from the same commit
/// descends from it too) and a branch whose tip another issue's worktree (of `peers`, those
/// in flight) made and this one did not (a sibling's `gt create` during this phase).
fn stack(
    repo: &Repo,
    issue_branch: &str,
    start: &PhaseStart,
    refs_after: &BTreeMap<String, String>,
    (foreign, peers): (&[String], &[PathBuf]),
) -> Result<Vec<StackBranch>, CaptureError> {
    let made_in = |r: &Repo, oid: &str| r.reflog_contains("HEAD", oid).unwrap_or(false);
    // Opened only when a new branch is found, which is rare.
    let peer_repos: std::cell::OnceCell<Vec<Repo>> = std::cell::OnceCell::new();
    let a_peers = |oid: &str| {
        !peers.is_empty()
            && !made_in(repo, oid)
            && peer_repos
                .get_or_init(|| peers.iter().filter_map(|p| Repo::open(p).ok()).collect())
                .iter()
                .any(|r| made_in(r, oid))
    };
    let issue_ref = format!("refs/heads/{issue_branch}");
    let base = start
        .refs
        .get(&issue_ref)
        .cloned()
        .unwrap_or_else(|| start.head.clone());
    let mut out = Vec::new();
    if let Some(oid) = refs_after.get(&issue_ref) {
        out.push(StackBranch {
            name: issue_branch.to_owned(),
            oid: oid.clone(),
            created: !start.refs.contains_key(&issue_ref),
        });
    }
    for (full, oid) in refs_after {
        let Some(branch) = full.strip_prefix("refs/heads/") else {
            continue;
        };
        if *full == issue_ref
            || oid.starts_with("ref: ")
            || start.refs.get(full) == Some(oid)
            || foreign.iter().any(|f| f == branch)
        {
            continue;
        }
        if repo.descends_from(oid, &base)? && !a_peers(oid) {
            out.push(StackBranch {
                name: branch.to_owned(),
                oid: oid.clone(),
                created: !start.refs.contains_key(full),
            });
        }
    }
    Ok(out)
}

/// Writes via a temp file, fsync and rename, so readers never see half a file.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<(), CaptureError> {
    crate::util::fsutil::write_atomically(path, data).map_err(|source| {
        CaptureError::Io(crate::util::fsutil::IoError {
            action: "write atomically",
            path: path.to_owned(),
            source,
        })
    })
}

/// Reads every `range.json` under `<logs>/<milestone>/<issue>/`, in phase order.
/// One phase's recorded range, if it was captured (and reads back).
pub fn read_range(phase_dir: &Path) -> Option<PhaseRange> {
    let text = std::fs::read_to_string(phase_dir.join(RANGE_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

pub fn load_ranges(issue_dir: &Path) -> Result<Vec<PhaseRange>, CaptureError> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(issue_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(source) => {
            return Err(CaptureError::Io(crate::util::fsutil::IoError {
                action: "read",
                path: issue_dir.to_owned(),
                source,
            }))
        }
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join(RANGE_FILE).is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let path = dir.join(RANGE_FILE);
        let text = std::fs::read(&path).map_err(|source| {
            CaptureError::Io(crate::util::fsutil::IoError {
                action: "read",
                path: path.clone(),
                source,
            })
        })?;
        out.push(
            serde_json::from_slice(&text).map_err(|source| CaptureError::Parse { path, source })?,
        );
    }
    out.sort_by_key(|r: &PhaseRange| r.id.seq);
    Ok(out)
}
