//! A line-by-line edit of a text, as data: what `orch docs fix` plans and `report::patch`
//! prints as a unified diff.

/// One line of an edit, with its terminator (none for a last line without one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Keep(String),
    Remove(String),
    Add(String),
}
