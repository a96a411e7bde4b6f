//! Lines orch adds to the common git dir's `info/exclude` (shared by every worktree, never
//! committed): files copied into a worktree, names a sandbox masks, orch's own outputs.

use std::path::Path;

/// Adds `/path` lines to the common dir's `info/exclude` (shared by every worktree) for the
/// paths not there yet, under `header`.
pub fn add(common_dir: &Path, header: &str, paths: &[&str]) -> std::io::Result<()> {
    let file = common_dir.join("info/exclude");
    std::fs::create_dir_all(common_dir.join("info"))?;
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let mut add = String::new();
    if !text.lines().any(|l| l == header) {
        add.push_str(header);
        add.push('\n');
    }
    for p in paths {
        let line = format!("/{}", p.trim_start_matches("./").trim_end_matches('/'));
        if !text.lines().any(|l| l == line) {
            add.push_str(&line);
            add.push('\n');
        }
    }
    if add.lines().all(|l| l == header) {
        return Ok(());
    }
    let sep = if text.is_empty() || text.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    std::fs::write(&file, format!("{text}{sep}{add}"))
}

/// Keeps orch's outputs (`logs_entry`, like `/logs/orch/`, and the dashboard) out of
/// `git status` in a repository that does not ignore them yet (`orch init` puts them in
/// `.gitignore`; a run that finds them not ignored puts them in `info/exclude`). The entries
/// it added, to say so once.
pub fn outputs(
    repo: &crate::git::Repo,
    entries: &[String],
) -> Result<Vec<String>, crate::util::fsutil::IoError> {
    let mut missing = Vec::new();
    for entry in entries {
        if !repo.ignores_entry(entry).unwrap_or(false) {
            missing.push(entry.trim_matches('/').to_owned());
        }
    }
    if missing.is_empty() {
        return Ok(missing);
    }
    let refs: Vec<&str> = missing.iter().map(String::as_str).collect();
    let common = repo.common_dir();
    add(&common, OUTPUTS_HEADER, &refs).map_err(|source| crate::util::fsutil::IoError {
        action: "write",
        path: common.join("info/exclude"),
        source,
    })?;
    Ok(missing.into_iter().map(|m| format!("/{m}")).collect())
}

/// The header of orch's outputs in `info/exclude`.
const OUTPUTS_HEADER: &str = "# orch's outputs (logs, the TASKS.md dashboard): added by orch run";
