//! `orch docs fix [--dry-run] [--force] [--project P]`: repairs what is mechanical in the issue
//! docs, in place, and prints a unified diff of every change (`--dry-run`: the diff only).
//! What it cannot repair is listed with its hint. A doc with uncommitted changes is not
//! written unless `--force`: the diff is then the only record of what the doc was.

use super::{hinted, GlobalArgs, Workspace};
use crate::cli::exit;
use crate::input::docs::fix::{self, Addition, Fixed};
use crate::input::docs::DocSet;
use crate::model::problem::Severity;
use crate::report::problems;
use crate::report::style::Styler;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: DocsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum DocsCommand {
    /// Repair what is mechanical (a missing opening `---`, a value that needs quotes, a
    /// one-sided dependency edge, `blocks:`), print the diff, list what is left.
    Fix(FixArgs),
}

#[derive(Debug, clap::Args)]
struct FixArgs {
    /// Print the diff only; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Also write docs that have uncommitted changes (or are not committed at all).
    #[arg(long)]
    force: bool,
    /// Only this project's docs.
    #[arg(long, value_name = "PROJECT")]
    project: Option<String>,
    /// Base directory the docs glob is matched from (default: the repository root).
    #[arg(long, value_name = "DIR")]
    docs: Option<PathBuf>,
}

pub fn run(global: &GlobalArgs, args: &Args) -> anyhow::Result<i32> {
    match &args.command {
        DocsCommand::Fix(fix_args) => fix_docs(global, fix_args),
    }
}

fn fix_docs(global: &GlobalArgs, args: &FixArgs) -> anyhow::Result<i32> {
    let ws = Workspace::open(global, args.docs.as_deref())?;
    let set = ws.load_docs()?;
    let in_scope = |project: &Option<String>| {
        args.project
            .as_ref()
            .is_none_or(|p| project.as_deref() == Some(p))
    };
    // Every doc file, as it is now.
    let mut originals: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
    let paths = set
        .docs
        .iter()
        .map(|d| (&d.path, &d.project))
        .chain(set.broken.iter().map(|b| (&b.path, &b.project)));
    for (path, project) in paths {
        if !in_scope(project) || !path.is_file() {
            continue;
        }
        if let Ok(bytes) = std::fs::read(path) {
            originals.insert(path.clone(), bytes);
        }
    }
    // The syntax repairs first: the edges are found between the docs as they will read.
    let repaired: BTreeMap<&PathBuf, Fixed> = originals
        .iter()
        .map(|(p, b)| (p, fix::fix(b, &[])))
        .collect();
    let additions = missing_sides(&set, &repaired, args.project.as_deref());
    let planned: BTreeMap<&PathBuf, Fixed> = originals
        .iter()
        .map(|(p, b)| {
            let adds = additions.get(p).map(Vec::as_slice).unwrap_or_default();
            (p, fix::fix(b, adds))
        })
        .collect();

    let changed: Vec<(&PathBuf, &Fixed)> = planned
        .iter()
        .filter(|(_, f)| f.changed())
        .map(|(p, f)| (*p, f))
        .collect();
    let err = Styler::stderr(global.color);
    if !args.dry_run && !args.force {
        let dirty = dirty_files(&ws, changed.iter().map(|(p, _)| p.as_path()))?;
        if !dirty.is_empty() {
            for (path, why) in &dirty {
                eprintln!("{}: {why}", path.display());
            }
            return Err(hinted(
                format!(
                    "{} doc{} to repair {} uncommitted changes; nothing was written",
                    dirty.len(),
                    if dirty.len() == 1 { "" } else { "s" },
                    if dirty.len() == 1 { "has" } else { "have" }
                ),
                "commit (or stash) them first, or pass --force to write them anyway; --dry-run shows the diff",
            ));
        }
    }
    for (path, fixed) in &changed {
        print!("{}", crate::report::patch::unified_diff(path, &fixed.ops));
    }
    if !args.dry_run {
        for (path, fixed) in &changed {
            write_keeping_mode(path, &fixed.bytes)?;
        }
    }

    // What is left: the problems of the docs as they are now written (or would be).
    let shown: Vec<(&Path, &[u8])> = originals
        .keys()
        .map(|p| (p.as_path(), planned[p].bytes.as_slice()))
        .collect();
    let after = DocSet::from_texts(shown.iter().map(|(p, b)| (*p, *p, *b)));
    let rules = super::state_rules(&ws, &[])?;
    // Errors, and the repairs that could not be made (warnings such as a pending dependency
    // are no defect of a doc).
    let mut left: Vec<crate::model::problem::Problem> =
        crate::input::docs::plan::validate(&after, args.project.as_deref(), &rules)
            .into_iter()
            .filter(|p| p.severity == Severity::Error)
            .collect();
    for (path, fixed) in &planned {
        for refusal in &fixed.refused {
            left.push(
                crate::model::problem::Problem::warning(
                    path.as_path(),
                    Some(refusal.line),
                    format!("not repaired: {}", refusal.what),
                )
                .with_hint("this one needs a person"),
            );
        }
    }
    crate::model::problem::sort(&mut left);
    left.dedup();
    let repairs: usize = changed.iter().map(|(_, f)| f.repairs.len()).sum();
    let verb = if args.dry_run {
        "would repair"
    } else {
        "repaired"
    };
    if changed.is_empty() {
        eprintln!("nothing to repair in {} docs", originals.len());
    } else {
        eprintln!(
            "{verb} {repairs} thing{} in {} doc{}{}",
            if repairs == 1 { "" } else { "s" },
            changed.len(),
            if changed.len() == 1 { "" } else { "s" },
            if args.dry_run {
                " (dry run: nothing was written)"
            } else {
                ""
            }
        );
    }
    if !left.is_empty() {
        eprintln!("Left as they are (not mechanical):");
        eprint!("{}", problems::render(&left, &err));
    }
    Ok(if left.iter().any(|p| p.is_error()) {
        exit::USER_ERROR
    } else {
        exit::OK
    })
}

/// For each doc, the entries its lists lack: the other sides of one-sided edges between the
/// docs as `repaired` reads them, for docs of `project` (all when `None`).
fn missing_sides(
    set: &DocSet,
    repaired: &BTreeMap<&PathBuf, Fixed>,
    project: Option<&str>,
) -> BTreeMap<PathBuf, Vec<Addition>> {
    // Docs out of scope are read as they are, so edges into them are seen.
    let outside = set.docs.iter().filter(|d| !repaired.contains_key(&d.path));
    let mut texts: Vec<(PathBuf, Vec<u8>)> = repaired
        .iter()
        .map(|(p, f)| ((*p).clone(), f.bytes.clone()))
        .collect();
    for doc in outside {
        if let Ok(bytes) = std::fs::read(&doc.path) {
            texts.push((doc.path.clone(), bytes));
        }
    }
    let view = DocSet::from_texts(
        texts
            .iter()
            .map(|(p, b)| (p.as_path(), p.as_path(), b.as_slice())),
    );
    let index = crate::input::docs::index::DocIndex::new(&view.docs);
    let mut out: BTreeMap<PathBuf, Vec<Addition>> = BTreeMap::new();
    let keep =
        |d: &crate::input::docs::IssueDoc| project.is_none_or(|p| d.project.as_deref() == Some(p));
    // Declared anywhere; repaired where the missing side is in scope.
    for edge in crate::input::docs::order::one_sided(&view, &index, |_| true) {
        if !keep(edge.other) {
            continue;
        }
        let entry = out.entry(edge.other.path.clone()).or_default();
        let addition = Addition {
            key: edge.missing,
            reference: edge.reference.clone(),
        };
        if !entry.contains(&addition) {
            entry.push(addition);
        }
    }
    out
}

/// The docs among `paths` whose content differs from what is committed, with how.
fn dirty_files<'a>(
    ws: &Workspace,
    paths: impl Iterator<Item = &'a Path>,
) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let paths: Vec<&Path> = paths.collect();
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let Some(root) = &ws.repo_root else {
        return Ok(paths
            .iter()
            .map(|p| (p.to_path_buf(), "not in a git repository".to_owned()))
            .collect());
    };
    let repo = crate::git::Repo::open(root)?;
    let root = root.canonicalize().unwrap_or_else(|_| root.clone());
    let mut dirty = Vec::new();
    for path in paths {
        let full = std::path::absolute(path)
            .ok()
            .and_then(|p| p.canonicalize().ok())
            .unwrap_or_else(|| path.to_owned());
        let Ok(rel) = full.strip_prefix(&root) else {
            dirty.push((path.to_owned(), "outside the repository".to_owned()));
            continue;
        };
        if let Some(kind) = repo.file_status(rel)? {
            let why = match kind {
                "untracked" => "not committed".to_owned(),
                other => format!("{other}, not committed"),
            };
            dirty.push((path.to_owned(), why));
        }
    }
    Ok(dirty)
}

/// Replaces `path` atomically, keeping its permission bits.
fn write_keeping_mode(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mode = std::fs::metadata(path).map(|m| m.permissions()).ok();
    crate::util::fsutil::write_atomically(path, bytes).map_err(|e| {
        hinted(
            format!("cannot write {}: {e}", path.display()),
            "check the file's permissions",
        )
    })?;
    if let Some(mode) = mode {
        std::fs::set_permissions(path, mode)?;
    }
    Ok(())
}
