//! Crash points for tests: places where orch can be made to die on the spot, at instants
//! that timing alone cannot hit reliably.
//!
//! **Test hook.** When the environment variable `ORCH_CRASH_AT` names a point, the process
//! sends itself SIGKILL the moment it reaches that point: no destructors, no flushing, no
//! lock release: exactly what a power cut or `kill -9` leaves behind. `ORCH_CRASH_AT=name:N`
//! crashes at the N-th time the point is reached in this process (the first, without `:N`).
//! Unset (the normal case), [`hit`] costs one environment lookup. `ORCH_FAIL_AT=name[:N]`
//! makes a write fail instead ([`fails`]): `state-save` is the run state's.
//!
//! The points:
//!
//! | name | where |
//! | --- | --- |
//! | `before-worktree` | the branch exists, its worktree not yet (`workspace::worktrees::prepare`) |
//! | `mid-dev`, `mid-review`, `mid-fix` | the agent reported its first finished item (the runner) |
//! | `after-dev`, `after-review`, `after-fix` | the phase's record is persisted (the engine) |
//! | `mid-set-aside` | an earlier branch's tip is under its rescue ref, the branch not yet deleted (`workspace::worktrees::set_aside`) |
//! | `mid-removal` | uncommitted work is rescued, the worktree not yet removed (`workspace::worktrees`) |
//! | `mid-delete` | a removed worktree's files are deleted, its directories, `.git` and registration not yet (`git::checkout`) |
//! | `mid-dashboard-write` | TASKS.md's new text is in its temp file, not yet renamed (`report::dashboard`) |
//! | `forge-fixed` | a fix the PR asked for passed and is recorded, not yet pushed (`engine::watch`) |
//! | `forge-pushed` | a fix the PR asked for is pushed and recorded, its threads not yet answered (`engine::watch`) |
//! | `restack-pushed` | a dependent's restack is pushed, its branch here and its record not yet moved (`engine::watch`) |
//! | `dispatched` | an issue's workflow run is dispatched and recorded, not yet followed (`engine::remote`) |
//! | `forge-replied` | a reply to a PR's thread is made and recorded, the next not yet (`engine::watch`) |
//! | `mid-state-write` | the new run state is written to its temp file, not yet renamed (`record::state::save`) |

use std::collections::BTreeMap;
use std::sync::Mutex;

/// The environment variable naming the point to crash at.
pub const ENV: &str = "ORCH_CRASH_AT";

static HITS: Mutex<BTreeMap<String, u32>> = Mutex::new(BTreeMap::new());

/// Kills the process with SIGKILL if `ORCH_CRASH_AT` names this point (and this is the
/// requested occurrence). Does nothing otherwise.
pub fn hit(name: &str) {
    let Ok(wanted) = std::env::var(ENV) else {
        return;
    };
    let Some(occurrence) = matches(&wanted, name) else {
        return;
    };
    let count = {
        let mut hits = HITS.lock().unwrap_or_else(|p| p.into_inner());
        let n = hits.entry(name.to_owned()).or_insert(0);
        *n += 1;
        *n
    };
    if count == occurrence {
        tracing::warn!("{ENV}={wanted}: crashing at `{name}`");
        // SAFETY: kill(2) on our own pid has no memory-safety preconditions.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
        // SIGKILL cannot be caught; this only runs if kill(2) itself failed.
        std::process::abort();
    }
}

/// The environment variable naming the point where a write is to fail (not a crash: the
/// write returns an error, as on a full disk).
pub const FAIL_ENV: &str = "ORCH_FAIL_AT";

static FAILS: Mutex<BTreeMap<String, u32>> = Mutex::new(BTreeMap::new());

/// Whether `ORCH_FAIL_AT` names this point from this occurrence on (`name:N`: the N-th time
/// and every time after it, as a disk that filled up stays full). Unset, false.
pub fn fails(name: &str) -> bool {
    let Ok(wanted) = std::env::var(FAIL_ENV) else {
        return false;
    };
    let Some(from) = matches(&wanted, name) else {
        return false;
    };
    let mut seen = FAILS.lock().unwrap_or_else(|p| p.into_inner());
    let n = seen.entry(name.to_owned()).or_insert(0);
    *n += 1;
    *n >= from
}

/// The occurrence `spec` asks for at `name`, if it names this point.
fn matches(spec: &str, name: &str) -> Option<u32> {
    let spec = spec.trim();
    match spec.split_once(':') {
        Some((point, n)) if point == name => n.trim().parse().ok().filter(|&n| n > 0),
        None if spec == name => Some(1),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn a_spec_names_a_point_and_an_occurrence() {
        assert_eq!(matches("after-dev", "after-dev"), Some(1));
        assert_eq!(matches("after-dev:3", "after-dev"), Some(3));
        assert_eq!(matches("after-dev", "after-fix"), None);
        assert_eq!(matches("after-dev:0", "after-dev"), None);
        assert_eq!(matches("after-dev:x", "after-dev"), None);
        assert_eq!(matches("after-devx", "after-dev"), None);
    }
}
