//! Reporters: turn plans and problems into text for people (tables, diagrams, messages).
//! They return strings; only `cli` writes them out.

pub mod diagram;
pub mod problems;
pub mod table;
