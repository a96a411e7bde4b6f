//! Pure data, no I/O: the plan of a run, dependency graphs, names, problems, and the records
//! and events of a run.

pub mod dag;
pub mod naming;
pub mod natural;
pub mod plan;
pub mod problem;
