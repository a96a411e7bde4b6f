//! orch's use of git for a run: the worktree of each issue, what a phase changed (capture,
//! audit), whether a repository is ready (verify-clean), the run lock, and Graphite tracking.

pub mod audit;
pub mod capture;
pub mod excludes;
pub mod gitdirs;
pub mod graphite;
pub mod lock;
pub mod verify_clean;
pub mod worktrees;
