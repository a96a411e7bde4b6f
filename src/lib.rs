//! orch: drive coding-agent CLIs through a milestone of issue docs.
//!
//! The library owns every decision (discovery, ordering, naming, rendering);
//! `cli` is the only place that talks to the terminal.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod acceptance;
pub mod approval;
pub mod audit;
pub mod capture;
pub mod cli;
pub mod command;
pub mod config;
pub mod contract;
pub mod dag;
pub mod dashboard;
pub mod docs;
pub mod engine;
pub mod events;
pub mod exit;
pub mod failpoint;
pub mod fsutil;
pub mod git;
pub mod graphite;
pub mod guard;
pub mod handoff;
pub mod lifecycle;
pub mod lock;
pub mod naming;
pub mod natural;
pub mod plan;
pub mod planfile;
pub mod problem;
pub mod prompts;
pub mod redact;
pub mod render;
pub mod repomap;
pub mod report;
pub mod runner;
pub mod scaffold;
pub mod shim;
pub mod state;
pub mod style;
pub mod timeutil;
pub mod verify;
