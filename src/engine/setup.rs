//! What makes a fresh worktree ready to work in, on the host (outside the agent's sandbox,
//! with the network): `[worktree] copy` brings untracked files of the main checkout over (and
//! excludes them from git, so they are never committed), then `[worktree] setup` runs its
//! commands, all within `setup_timeout`, all logged to one file. `[worktree] teardown` runs
//! before orch removes a worktree. The same set-up readies a clean-room checkout.

use super::host::Host;
use super::EngineError;
use crate::input::config::Config;
use std::io::Write;
use std::path::{Component, Path};
use std::time::Instant;

/// The header of orch's lines in the common dir's `info/exclude`.
const EXCLUDE_HEADER: &str = "# orch: files `[worktree] copy` puts in issue worktrees";

/// Whether new worktrees have anything to be set up with.
pub(super) fn configured(config: &Config) -> bool {
    let w = &config.worktree;
    !w.setup.is_empty() || !w.copy.is_empty()
}

/// Copies and sets up `dir`, logging to `log`. `Ok(Err(reason))`: the setup failed, with
/// why (the log has the rest).
pub(super) async fn set_up(
    host: Host<'_>,
    dir: &Path,
    common_dir: &Path,
    log: &Path,
) -> Result<Result<(), String>, EngineError> {
    let io = super::logs::io_error;
    if let Some(parent) = log.parent() {
        std::fs::create_dir_all(parent).map_err(io("create", parent))?;
    }
    let mut out = std::fs::File::create(log).map_err(io("write", log))?;
    let mut say = |text: &str| {
        let _ = writeln!(out, "{text}");
    };
    if let Err(reason) = copy_in(host, dir, common_dir, &mut say)? {
        return Ok(Err(reason));
    }
    let started = Instant::now();
    let limit = host.config.setup_timeout();
    for command in &host.config.worktree.setup {
        let left = limit.saturating_sub(started.elapsed());
        let part = log.with_extension(format!("{}.part", std::process::id()));
        say(&format!("$ {command}"));
        let result = crate::gates::shell::run_shell(
            command,
            dir,
            &part,
            left.max(std::time::Duration::from_millis(1)),
            host.cancel(),
        )
        .await;
        let text = std::fs::read_to_string(&part).unwrap_or_default();
        let _ = std::fs::remove_file(&part);
        say(text.trim_end());
        say(&format!(
            "→ {} in {:.1}s",
            result.describe(limit),
            result.duration_ms as f64 / 1000.0
        ));
        if !result.success() {
            return Ok(Err(format!(
                "worktree setup failed: `{command}` {}; see {}",
                if result.timed_out {
                    format!("ran past setup_timeout ({} s)", limit.as_secs())
                } else {
                    result.describe(limit)
                },
                log.display()
            )));
        }
    }
    Ok(Ok(()))
}

/// `[worktree] copy`: the untracked files of the main checkout it names, copied into `dir`
/// and excluded from git. `Ok(Err(reason))`: an entry is not a path inside the checkout.
fn copy_in(
    host: Host<'_>,
    dir: &Path,
    common_dir: &Path,
    say: &mut dyn FnMut(&str),
) -> Result<Result<(), String>, EngineError> {
    let io = super::logs::io_error;
    let mut excluded = Vec::new();
    for entry in &host.config.worktree.copy {
        let rel = Path::new(entry);
        if rel.is_absolute()
            || rel
                .components()
                .any(|c| matches!(c, Component::ParentDir | Component::Prefix(_)))
        {
            say(&format!(
                "copy {entry}: refused (not a path inside the checkout)"
            ));
            return Ok(Err(format!(
                "`[worktree] copy` has `{entry}`, which is not a path inside the checkout"
            )));
        }
        let (from, to) = (host.repo_root.join(rel), dir.join(rel));
        if !from.exists() {
            say(&format!("copy {entry}: not in the main checkout, skipped"));
            continue;
        }
        if to.exists() {
            say(&format!(
                "copy {entry}: already in the worktree (tracked?), left as it is"
            ));
            continue;
        }
        copy_all(&from, &to).map_err(io("copy", &from))?;
        say(&format!("copy {entry}: copied, excluded from git"));
        excluded.push(entry.clone());
    }
    if !excluded.is_empty() {
        let excluded: Vec<&str> = excluded.iter().map(String::as_str).collect();
        crate::workspace::excludes::add(common_dir, EXCLUDE_HEADER, &excluded)
            .map_err(io("write", &common_dir.join("info/exclude")))?;
    }
    Ok(Ok(()))
}

/// Runs `[worktree] teardown` in `dir` before it is removed, logging to `log`. A failing
/// command is logged; the worktree goes anyway (nothing uncommitted is lost: removal
/// rescues it).
pub(super) async fn tear_down(host: Host<'_>, dir: &Path, log: &Path) {
    let commands = &host.config.worktree.teardown;
    if commands.is_empty() || !dir.exists() {
        return;
    }
    let mut text = String::new();
    for command in commands {
        let part = log.with_extension(format!("{}.part", std::process::id()));
        let result = crate::gates::shell::run_shell(
            command,
            dir,
            &part,
            host.config.setup_timeout(),
            host.cancel(),
        )
        .await;
        text.push_str(&format!(
            "$ {command}\n{}\n→ {}\n",
            std::fs::read_to_string(&part)
                .unwrap_or_default()
                .trim_end(),
            result.describe(host.config.setup_timeout())
        ));
        let _ = std::fs::remove_file(&part);
    }
    let _ = std::fs::write(log, text);
}

/// Copies a file, or a directory with everything in it (symlinks as links).
fn copy_all(from: &Path, to: &Path) -> std::io::Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let meta = std::fs::symlink_metadata(from)?;
    if meta.is_symlink() {
        return std::os::unix::fs::symlink(std::fs::read_link(from)?, to);
    }
    if !meta.is_dir() {
        std::fs::copy(from, to)?;
        return Ok(());
    }
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        copy_all(&entry.path(), &to.join(entry.file_name()))?;
    }
    Ok(())
}
