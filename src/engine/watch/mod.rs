//! Watching an issue's pull request after orch opened it: its checks and review threads,
//! and the fix phases they start. [`decide`] is the rule book (pure).

pub mod decide;
