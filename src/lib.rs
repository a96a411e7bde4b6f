//! orch: drive coding-agent CLIs through a milestone of issue docs.
//!
//! The layers, bottom up (each imports only those below it):
//! - `util`, `model`: helpers, and the pure data of a run (plans, records, events);
//! - `input` (what users write: config, docs, plan files), `git` (the only git2 importer);
//! - `workspace` (orch's use of git), `guard`, `forge` (the GitHub API), `agent` (runners,
//!   prompts, the contract),
//!   `gates` (checks, approvals, the user's commands);
//! - `engine` (the loop); `record` (the run on disk), `report` (what people read);
//! - `cli`, the only place that talks to the terminal.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod agent;
pub mod cli;
pub mod engine;
pub mod forge;
pub mod gates;
pub mod git;
pub mod guard;
pub mod input;
pub mod model;
pub mod record;
pub mod report;
pub mod util;
pub mod workspace;
