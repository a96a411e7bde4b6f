//! Refs: snapshots for auditing, and the pins that keep agents' commits reachable.

use super::{GitError, ObjectId, Repo};
use std::collections::BTreeMap;

/// How often a ref write meets a lock another writer holds before it gives up, and the
/// first wait (doubling, so all the tries wait about a second at the most).
const LOCK_TRIES: u32 = 9;
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_millis(4);

/// Runs a ref write, again while another writer holds its lock (`<ref>.lock`, or
/// `packed-refs.lock` when deleting a packed ref): issues in flight at once write their own
/// refs, and two of them may meet at the packed refs. A lock still held after the last try is
/// the error, as git gives it.
pub(super) fn when_unlocked<T>(
    mut write: impl FnMut() -> Result<T, git2::Error>,
) -> Result<T, git2::Error> {
    let mut wait = LOCK_WAIT;
    let mut tries = 1;
    loop {
        match write() {
            Err(e) if e.code() == git2::ErrorCode::Locked && tries < LOCK_TRIES => {
                std::thread::sleep(wait);
                wait *= 2;
                tries += 1;
            }
            done => return done,
        }
    }
}

/// Every ref's value: an object id, or `ref: <target>` for symbolic refs.
pub type RefSnapshot = BTreeMap<String, String>;

impl Repo {
    /// All refs of the repository (shared refs; per-worktree HEADs are read with [`Repo::head`]).
    pub fn ref_snapshot(&self) -> Result<RefSnapshot, GitError> {
        let mut out = BTreeMap::new();
        let refs = self
            .inner
            .references()
            .map_err(self.err("list references"))?;
        for r in refs {
            // A ref deleted between the listing and its read (another issue's task at
            // work) is simply not there.
            let r = match r {
                Ok(r) => r,
                Err(e) if e.code() == git2::ErrorCode::NotFound => continue,
                Err(e) => return Err(self.err("read a reference")(e)),
            };
            let Some(name) = r.name() else { continue };
            let value = match (r.target(), r.symbolic_target()) {
                (Some(oid), _) => oid.to_string(),
                (None, Some(t)) => format!("ref: {t}"),
                (None, None) => continue,
            };
            out.insert(name.to_owned(), value);
        }
        Ok(out)
    }

    /// Points `name` at `oid`, creating or moving it (orch's own `refs/orch/…` pins).
    pub fn set_ref(&self, name: &str, oid: &str, message: &str) -> Result<(), GitError> {
        let action = format!("set `{name}` to {oid}");
        if !super::is_valid_ref_name(name) {
            return Err(self.refused(action, "not a valid ref name"));
        }
        let target = self.oid(oid)?;
        when_unlocked(|| self.inner.reference(name, target, true, message))
            .map_err(self.err(action))?;
        Ok(())
    }

    /// Deletes `name` if it exists (used to undo refs an agent created where it must not).
    pub fn delete_ref(&self, name: &str) -> Result<(), GitError> {
        let not_found = |e: &git2::Error| e.code() == git2::ErrorCode::NotFound;
        when_unlocked(|| {
            // A fresh handle each try: after a packed deletion that did not take, libgit2's
            // cached refdb goes on not taking it.
            let repo = git2::Repository::open(self.inner.path())?;
            match repo.find_reference(name) {
                Ok(mut r) => r.delete()?,
                Err(e) if not_found(&e) => return Ok(()),
                Err(e) => return Err(e),
            }
            // libgit2 reports a packed ref deleted while another writer holds
            // `packed-refs.lock`, and leaves it: look again.
            let still = repo.find_reference(name).map(|_| ());
            match still {
                Err(e) if not_found(&e) => Ok(()),
                Err(e) => Err(e),
                Ok(()) => Err(git2::Error::new(
                    git2::ErrorCode::Locked,
                    git2::ErrorClass::Reference,
                    format!("`{name}` is still there: another writer holds packed-refs.lock"),
                )),
            }
        })
        .map_err(self.err(format!("delete `{name}`")))
    }

    /// The value of one ref, if it exists.
    pub fn ref_target(&self, name: &str) -> Result<Option<ObjectId>, GitError> {
        match self.inner.find_reference(name) {
            Ok(r) => Ok(r.target().map(|o| o.to_string())),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(self.err(format!("read `{name}`"))(e)),
        }
    }

    /// Names of refs under `prefix` (e.g. `refs/orch/rescue/M1/X-1/`).
    pub fn refs_under(&self, prefix: &str) -> Result<Vec<String>, GitError> {
        let glob = format!("{}*", prefix);
        let refs = self
            .inner
            .references_glob(&glob)
            .map_err(self.err(format!("list refs under `{prefix}`")))?;
        let mut names = Vec::new();
        for r in refs {
            let r = r.map_err(self.err("read a reference"))?;
            if let Some(n) = r.name() {
                names.push(n.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Whether `oid` was ever a value of `name` in its reflog (`HEAD` of a linked worktree is
    /// its own): the commits made in a worktree are in its HEAD's reflog. No reflog is `false`.
    pub fn reflog_contains(&self, name: &str, oid: &str) -> Result<bool, GitError> {
        let Ok(oid) = git2::Oid::from_str(oid) else {
            return Ok(false);
        };
        let log = match self.inner.reflog(name) {
            Ok(log) => log,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(false),
            Err(e) => return Err(self.err(format!("read the reflog of `{name}`"))(e)),
        };
        Ok(log.iter().any(|entry| entry.id_new() == oid))
    }
}
