//! Writing the run's log directory (its layout is [`crate::model::layout`]): every file the
//! engine writes is redacted and replaced atomically, so a reader never sees half of one.

use super::EngineError;
use crate::model::layout;
use crate::util::redact::redact;
use serde::Serialize;
use std::path::Path;

/// Turns an I/O error doing `action` on `path` into the engine's.
pub(super) fn io_error(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> EngineError {
    let path = path.to_owned();
    move |source| {
        EngineError::Io(crate::util::fsutil::IoError {
            action,
            path,
            source,
        })
    }
}

pub(super) fn write_text(path: &Path, text: &str) -> Result<(), EngineError> {
    crate::util::fsutil::write_atomically(path, redact(text).as_bytes()).map_err(|source| {
        EngineError::Io(crate::util::fsutil::IoError {
            action: "write",
            path: path.to_owned(),
            source,
        })
    })
}

pub(super) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), EngineError> {
    write_text(
        path,
        &serde_json::to_string_pretty(value).unwrap_or_default(),
    )
}

pub(super) fn create_dir(dir: &Path) -> Result<(), EngineError> {
    std::fs::create_dir_all(dir).map_err(|source| {
        EngineError::Io(crate::util::fsutil::IoError {
            action: "write",
            path: dir.to_owned(),
            source,
        })
    })
}

/// Appends lines to a phase's guard log, one write per line like the shims that append to
/// the same file.
pub(super) fn append_guard_lines(
    phase_dir: &Path,
    lines: &[crate::guard::log::GuardLine],
) -> Result<(), EngineError> {
    let path = phase_dir.join(layout::GUARD_LOG);
    crate::guard::log::append(&path, lines).map_err(|source| {
        EngineError::Io(crate::util::fsutil::IoError {
            action: "write",
            path,
            source,
        })
    })
}
