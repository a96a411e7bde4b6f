//! The integration tests, one binary (linking one is most of a test build on two cores):
//! each module drives the `orch` binary, or the library, in hermetic temp repositories
//! built by [`support`]. The harnesses: [`support::TestEnv`] (a repository and a cleared
//! environment), [`support::fake::FakeRepo`] (orch wired to the scripted fake agent),
//! [`support::codex::CodexRepo`] (orch wired to the real codex and the mock model server),
//! and [`support::scripted::ScriptedRunner`] (the engine in-process, no agent at all).

mod support;

mod architecture;
mod bad_docs;
mod budget;
mod cli;
mod crash;
mod docs_book;
mod docs_fix;
mod engine;
mod exit_codes;
mod first_hour;
mod forge;
mod forge_feedback;
mod forge_watch;
mod gates;
mod git_layer;
mod guard_gt;
mod init;
mod on_github;
mod parallel;
mod plan;
mod plan_file;
mod plan_resume;
mod plan_run;
mod projects;
mod properties;
mod real_repo;
mod repomap;
mod resume;
mod run_claude;
mod run_codex;
mod run_fake;
mod sandbox;
mod sandbox_claude;
mod second_run;
mod secrets;
mod setup;
mod stall;
mod verify;
mod work;
