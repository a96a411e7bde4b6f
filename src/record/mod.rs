//! The run on disk: its state (written atomically at every transition, read by resume and
//! status) and its event log.

pub mod event_log;
pub mod recorder;
pub mod state;
