//! The run on disk: its state (written atomically at every transition, read by resume and
//! status), its event log, and its phases' results and ranges read back.

pub mod event_log;
pub mod phase_logs;
pub mod recorder;
pub mod state;
