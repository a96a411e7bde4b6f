//! What users write: `orch.toml`, the issue docs, plan files, and what `orch init` scaffolds.

pub mod config;
pub mod docs;
pub mod planfile;
pub mod scaffold;
pub mod workflow;
