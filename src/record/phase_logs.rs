//! A recorded phase read back from its log directory: its valid result and its commit range.
//! What people read (the report, `orch diff`) and a resumed loop both read phases here.

use crate::model::layout;
use crate::workspace::capture::PhaseRange;
use std::path::Path;

/// A recorded phase's valid result, if it has one.
pub fn result(phase_dir: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(phase_dir.join(layout::RESULT)).ok()?;
    serde_json::from_str(&text).ok()
}

/// A recorded phase's commit range, if it was captured (and reads back).
pub fn range(phase_dir: &Path) -> Option<PhaseRange> {
    crate::workspace::capture::read_range(phase_dir)
}
