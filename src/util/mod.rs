//! Small helpers every layer may use: files, times, crash points, secret redaction, near
//! misses.

pub mod failpoint;
pub mod fsutil;
pub mod platform;
pub mod process;
pub mod redact;
pub mod secret_shapes;
pub mod spelling;
pub mod timeutil;
