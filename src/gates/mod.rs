//! What stands between an agent's work and "done": acceptance checks, approval gates, and the
//! user's own commands run in a worktree.

pub mod acceptance;
pub mod approval;
pub mod shell;
