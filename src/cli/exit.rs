//! Process exit codes, in one place so scripts can rely on them.

/// Everything asked for was done.
pub const OK: i32 = 0;
/// The user's docs, config or repository are not in a state orch can work with.
pub const USER_ERROR: i32 = 1;
/// The command line itself was wrong (clap uses this code too).
pub const USAGE: i32 = 2;
/// A run finished, but some issues did not pass.
pub const RUN_FAILED: i32 = 100;
/// Interrupted by SIGINT/SIGTERM; state was kept for `orch resume`.
pub const INTERRUPTED: i32 = 130;
/// The reader of orch's output went away (`orch diff X | head -1`): what a shell reports for
/// a process SIGPIPE ended.
pub const BROKEN_PIPE: i32 = 141;
/// A bug in orch.
pub const INTERNAL: i32 = 255;
