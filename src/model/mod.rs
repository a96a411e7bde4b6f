//! Pure data, no I/O: the plan of a run, dependency graphs, names, problems, the records and
//! events of a run, and the layout of its log directory.

pub mod budget;
pub mod check;
pub mod dag;
pub mod event;
pub mod forge;
pub mod layout;
pub mod naming;
pub mod natural;
pub mod patch;
pub mod phase;
pub mod plan;
pub mod problem;
pub mod record;
pub mod remote;
pub mod request;
pub mod result;
pub mod state;
pub mod versions;
