//! The agent's process group, as recorded in the run state when a phase starts, so that a
//! later `orch resume` can tell whether an agent left behind by a killed orch is still
//! running, and stop it before running its phase again.
//!
//! Every agent runs in its own process group (its pid is the group id). orch survives its
//! own SIGINT/SIGTERM and stops the group itself; a SIGKILLed orch cannot, and the group
//! lives on, still editing the worktree. Identity: the leader's start time (on Linux, field 22
//! of `/proc/<pid>/stat`, in clock ticks since boot; see `util::platform`) tells the recorded
//! agent from a later process that got the same pid. While any member of the group is alive, the kernel does not
//! hand its id out again, so surviving members with that group id are the agent's.

pub use crate::model::phase::AgentProcess;
use crate::util::platform::{self, stat};
use crate::util::process::signal_group;
use std::time::{Duration, Instant};

impl AgentProcess {
    /// The agent just spawned as `pid`, leading its own group, its processes marked with
    /// `mark` (`NAME=value`).
    pub fn spawned(pid: i32, mark: Option<String>) -> AgentProcess {
        AgentProcess {
            pid,
            pgid: pid,
            start_time: stat(pid).map(|s| s.start_time),
            host: platform::hostname(),
            mark,
        }
    }

    /// The live processes of the recorded group, if it is still the recorded agent's.
    pub fn survivors(&self) -> Survivors {
        if self.host != platform::hostname() {
            return Survivors::OtherHost;
        }
        if !platform::lists_processes() {
            return Survivors::Unknown;
        }
        if let Some(leader) = stat(self.pid).filter(|s| !s.is_zombie()) {
            // The leader lives: it must be the process that was recorded.
            if Some(leader.start_time) != self.start_time || leader.pgid != self.pgid {
                return Survivors::Gone;
            }
        }
        let mut members = group_members(self.pgid);
        if let Some(mark) = &self.mark {
            members.extend(crate::util::process::marked(mark));
            members.sort_unstable();
            members.dedup();
        }
        if members.is_empty() {
            Survivors::Gone
        } else {
            Survivors::Alive(members)
        }
    }

    /// Stops the group if it is still alive: SIGTERM, up to `grace` for it to go, then
    /// SIGKILL. Says what it found.
    pub fn stop_if_alive(&self, grace: Duration) -> Survivors {
        let found = self.survivors();
        if let Survivors::Alive(_) = found {
            signal_group(self.pgid, libc::SIGTERM);
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline && !group_members(self.pgid).is_empty() {
                std::thread::sleep(Duration::from_millis(50));
            }
            if !group_members(self.pgid).is_empty() {
                signal_group(self.pgid, libc::SIGKILL);
                let deadline = Instant::now() + Duration::from_secs(2);
                while Instant::now() < deadline && !group_members(self.pgid).is_empty() {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            if let Some(mark) = &self.mark {
                crate::util::process::stop_marked(mark);
            }
        }
        found
    }
}

/// What is left of a recorded agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Survivors {
    /// Nothing: the group is gone (or its id now belongs to someone else).
    Gone,
    /// These pids of the agent's group are alive.
    Alive(Vec<i32>),
    /// Recorded on another machine: nothing to check here.
    OtherHost,
    /// No `/proc` to check identity with: left alone.
    Unknown,
}

/// Live (not zombie) processes whose group is `pgid`.
fn group_members(pgid: i32) -> Vec<i32> {
    let mut pids: Vec<i32> = platform::pids()
        .into_iter()
        .filter(|&pid| stat(pid).is_some_and(|s| s.pgid == pgid && !s.is_zombie()))
        .collect();
    pids.sort_unstable();
    pids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_group_is_found_stopped_and_not_confused_with_another() {
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let agent = AgentProcess::spawned(child.id() as i32, None);
        assert!(agent.start_time.is_some());
        // Another start time: a different process that reused the pid.
        let impostor = AgentProcess {
            start_time: agent.start_time.map(|t| t + 1),
            ..agent.clone()
        };
        assert_eq!(impostor.survivors(), Survivors::Gone);
        assert_eq!(agent.survivors(), Survivors::Alive(vec![agent.pid]));
        let found = agent.stop_if_alive(Duration::from_secs(2));
        assert_eq!(found, Survivors::Alive(vec![agent.pid]));
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGTERM));
        assert_eq!(agent.survivors(), Survivors::Gone);
    }
}
