//! The post-phase ref audit: the backstop behind the guard. Anything the agent did to refs
//! outside its issue's stack (and orch's own `refs/orch/`) — through a blocked command, the
//! real binary by absolute path, or plain file writes — shows up as a changed ref between
//! the phase's before/after snapshots. Each is a violation: recorded, and by default undone.
//! A plan task's `forbidden_paths` are checked here too, against the files a phase changed.

use crate::git::{GitError, Repo};
use crate::workspace::capture::{PhaseRange, RefChange};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub name: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// The ref was put back to `before` (or deleted if it did not exist).
    pub restored: bool,
    /// Other issues in flight during the phase, when nothing tells whose work the change is
    /// (it is reported here, once: the first audit to see it puts it back).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_in_flight: Vec<String>,
}

/// Refs an agent may create or move during a phase of this issue.
pub fn is_allowed(name: &str, issue_branch: &str, stack: &[String]) -> bool {
    if name.starts_with("refs/orch/") || name.starts_with("refs/remotes/") || name == "refs/stash" {
        return true;
    }
    match name.strip_prefix("refs/heads/") {
        Some(branch) => branch == issue_branch || stack.iter().any(|s| s == branch),
        None => false,
    }
}

/// Another issue of the run that was in flight during the phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub id: String,
    pub worktree: PathBuf,
    /// The commit its branch started from.
    pub base: String,
    /// Its branch and the branches its phases made.
    pub branches: Vec<String>,
    /// A phase of it runs now: its own audit will see what it did.
    pub phase_open: bool,
}

/// What is known of one peer for one changed ref.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerEvidence<'p> {
    pub id: &'p str,
    /// The ref is one of its branches.
    pub owns_ref: bool,
    /// Its worktree made the commit the ref now points at (in its HEAD's reflog, new since
    /// its base).
    pub made_it: bool,
    pub phase_open: bool,
}

/// Whose work a changed ref outside this issue's stack is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribution {
    /// This phase's: a violation.
    Mine,
    /// That issue's own work (or its audit's to judge): not a violation of this phase.
    Theirs(String),
    /// Nothing tells: a violation here, naming the others that were in flight.
    Unclear(Vec<String>),
}

/// Attributes a change seen by a phase's audit. `mine_made`: this phase's worktree made the
/// commit the ref points at now. Alone in flight, every change is the phase's own. Else a
/// change to a commit only this worktree made is its own, wherever the ref; a ref of
/// another issue's stack is that issue's; a commit another worktree made is that issue's
/// while its phase runs (its audit sees it); anything else is unclear.
pub fn attribute(mine_made: bool, peers: &[PeerEvidence<'_>]) -> Attribution {
    if peers.is_empty() {
        return Attribution::Mine;
    }
    let made_by_peer = peers.iter().any(|p| p.made_it);
    if mine_made && !made_by_peer {
        return Attribution::Mine;
    }
    if let Some(owner) = peers.iter().find(|p| p.owns_ref) {
        return Attribution::Theirs(owner.id.to_owned());
    }
    if !mine_made {
        if let Some(maker) = peers.iter().find(|p| p.made_it && p.phase_open) {
            return Attribution::Theirs(maker.id.to_owned());
        }
    }
    Attribution::Unclear(peers.iter().map(|p| p.id.to_owned()).collect())
}

/// Finds the violations among a phase's changed refs and, when `restore`, undoes them.
/// `stack` holds the branches of the issue's stack (the issue branch and the branches its
/// phases created on top of it); `peers` the other issues in flight during the phase, whose
/// own work is not this phase's violation (see [`attribute`]).
pub fn audit(
    repo: &Repo,
    range: &PhaseRange,
    (issue_branch, stack): (&str, &[String]),
    worktree: &Path,
    peers: &[Peer],
    restore: bool,
) -> Result<Vec<Violation>, GitError> {
    let mut out = Vec::new();
    // A worktree that is gone (an issue that ended) made nothing that can still be told.
    let open = |path: &Path| Repo::open(path).ok();
    let own = open(worktree);
    let peer_repos: Vec<Option<Repo>> = peers.iter().map(|p| open(&p.worktree)).collect();
    // What cannot be read (a tag object, a reflog gone) tells nothing.
    let made = |repo: &Option<Repo>, base: &str, oid: &str| {
        repo.as_ref().is_some_and(|repo| {
            repo.reflog_contains("HEAD", oid).unwrap_or(false)
                && !repo.descends_from(base, oid).unwrap_or(true)
        })
    };
    for RefChange {
        name,
        before,
        after,
    } in &range.refs_changed
    {
        if is_allowed(name, issue_branch, stack) {
            continue;
        }
        // Put back since the snapshot (by another phase's audit, which saw it first): there
        // is nothing left to judge.
        let symbolic = before.as_deref().is_some_and(|b| b.starts_with("ref: "));
        if !peers.is_empty() && !symbolic && repo.ref_target(name)? == *before {
            continue;
        }
        let commit = after.as_deref().filter(|a| !a.starts_with("ref: "));
        let mine_made = match commit {
            Some(oid) => made(&own, &range.base, oid),
            None => false,
        };
        let branch = name.strip_prefix("refs/heads/");
        let mut evidence = Vec::new();
        for (peer, peer_repo) in peers.iter().zip(&peer_repos) {
            evidence.push(PeerEvidence {
                id: &peer.id,
                owns_ref: branch.is_some_and(|b| peer.branches.iter().any(|p| p == b)),
                made_it: match commit {
                    Some(oid) => made(peer_repo, &peer.base, oid),
                    None => false,
                },
                phase_open: peer.phase_open,
            });
        }
        let also_in_flight = match attribute(mine_made, &evidence) {
            Attribution::Theirs(_) => continue,
            Attribution::Mine => Vec::new(),
            Attribution::Unclear(ids) => ids,
        };
        let mut restored = false;
        if restore {
            match before.as_deref() {
                Some(value) if value.starts_with("ref: ") => {}
                Some(oid) => {
                    repo.set_ref(name, oid, "orch: undo a change outside the issue's stack")?;
                    restored = true;
                }
                None => {
                    repo.delete_ref(name)?;
                    restored = true;
                }
            }
        }
        out.push(Violation {
            name: name.clone(),
            before: before.clone(),
            after: after.clone(),
            restored,
            also_in_flight,
        });
    }
    Ok(out)
}

/// The changed paths a task's `forbidden_paths` globs match, each with the first pattern that
/// matched. A pattern naming a directory (`vendor/` or `vendor`) covers everything under it.
pub fn forbidden_changes<'p>(
    patterns: &[String],
    paths: impl Iterator<Item = &'p str>,
) -> Vec<(String, String)> {
    let globs: Vec<(String, Vec<globset::GlobMatcher>)> = patterns
        .iter()
        .map(|p| {
            let base = p.trim_end_matches('/');
            let matchers = [base.to_owned(), format!("{base}/**")]
                .iter()
                .filter_map(|g| globset::Glob::new(g).ok())
                .map(|g| g.compile_matcher())
                .collect();
            (p.clone(), matchers)
        })
        .collect();
    let mut out: Vec<(String, String)> = Vec::new();
    for path in paths {
        if let Some((pattern, _)) = globs
            .iter()
            .find(|(_, ms)| ms.iter().any(|m| m.is_match(path)))
        {
            if !out.iter().any(|(p, _)| p == path) {
                out.push((path.to_owned(), pattern.clone()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{attribute, forbidden_changes, is_allowed, Attribution, PeerEvidence};

    #[test]
    fn a_change_is_attributed_by_whose_stack_and_whose_commit() {
        let peer = |id, owns_ref, made_it, phase_open| PeerEvidence {
            id,
            owns_ref,
            made_it,
            phase_open,
        };
        let mine = || Attribution::Mine;
        let theirs = |id: &str| Attribution::Theirs(id.to_owned());
        let unclear =
            |ids: &[&str]| Attribution::Unclear(ids.iter().map(|s| s.to_string()).collect());
        let rows: Vec<(&str, bool, Vec<PeerEvidence>, Attribution)> =
            vec![
            ("alone in flight, anything is mine", false, vec![], mine()),
            ("alone, a commit I made", true, vec![], mine()),
            (
                "a peer's branch moved to its own commit",
                false,
                vec![peer("B", true, true, true)],
                theirs("B"),
            ),
            (
                "a peer's branch made by orch as it starts (no commit of anyone's)",
                false,
                vec![peer("B", true, false, false)],
                theirs("B"),
            ),
            (
                "a peer's branch moved to a commit only my worktree made",
                true,
                vec![peer("B", true, false, true)],
                mine(),
            ),
            (
                "a foreign ref moved to my commit while a peer runs",
                true,
                vec![peer("B", false, false, true)],
                mine(),
            ),
            (
                "a foreign ref moved to a running peer's commit",
                false,
                vec![peer("B", false, true, true), peer("C", false, false, true)],
                theirs("B"),
            ),
            (
                "a foreign ref moved to the commit of a peer whose phase ended: its audit is past",
                false,
                vec![peer("B", false, true, false)],
                unclear(&["B"]),
            ),
            (
                "a foreign ref deleted while peers run",
                false,
                vec![peer("B", false, false, true), peer("C", false, false, false)],
                unclear(&["B", "C"]),
            ),
            (
                "a commit both worktrees made is nobody's for sure",
                true,
                vec![peer("B", false, true, true)],
                unclear(&["B"]),
            ),
        ];
        for (name, mine_made, peers, want) in rows {
            assert_eq!(attribute(mine_made, &peers), want, "{name}");
        }
    }

    #[test]
    fn forbidden_paths_match_files_and_directories() {
        let patterns = vec![
            "vendor/".to_owned(),
            "*.lock".to_owned(),
            "docs/api".to_owned(),
        ];
        let got = forbidden_changes(
            &patterns,
            [
                "src/a.rs",
                "vendor/x/y.c",
                "Cargo.lock",
                "docs/api/index.md",
                "docs/apis.md",
            ]
            .into_iter(),
        );
        let paths: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["vendor/x/y.c", "Cargo.lock", "docs/api/index.md"]);
        assert_eq!(got[0].1, "vendor/");
    }

    #[test]
    fn only_the_issue_stack_and_orch_refs_may_move() {
        let stack = vec!["orch/M1/A-1-x".to_owned(), "a1-part-2".to_owned()];
        let table = [
            ("refs/heads/orch/M1/A-1-x", true),
            ("refs/heads/a1-part-2", true),
            ("refs/orch/runs/r/A-1/01-dev", true),
            ("refs/remotes/origin/main", true),
            ("refs/heads/main", false),
            ("refs/heads/orch/M1/B-2-y", false),
            ("refs/tags/v1.0", false),
            ("refs/notes/commits", false),
        ];
        for (name, want) in table {
            assert_eq!(is_allowed(name, "orch/M1/A-1-x", &stack), want, "{name}");
        }
    }
}
