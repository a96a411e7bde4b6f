//! A milestone's own doc: `docs/projects/<project>/milestones/<milestone>[-_]<slug>.md`, or a
//! doc there whose front matter says `id: <milestone>`. It carries the milestone's goal and
//! its sequencing plan, so every phase is given its path.
//!
//! Candidates rank: a file named exactly after the milestone (or whose `id` is it), then one
//! whose name starts with the milestone and `-` or `_`, then, for a milestone id that carries
//! a slug (`M3-core-engine`), a file named after its leading id (`M3.md`). The best rank
//! wins; two candidates of the best rank are a conflict.

use super::frontmatter;
use crate::model::plan::MilestoneDoc;
use crate::model::problem::Problem;
use std::path::{Path, PathBuf};

/// The directory next to `issues/` that holds milestone docs.
pub const MILESTONES_DIR: &str = "milestones";

/// The `milestones/` directories beside the issue directories of `issue_paths`.
pub fn dirs_for<'a>(issue_paths: impl IntoIterator<Item = &'a Path>) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = issue_paths
        .into_iter()
        .filter_map(|p| Some(p.parent()?.parent()?.join(MILESTONES_DIR)))
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

/// The milestone doc of `milestone` in `dirs`: `Ok(None)` when there is none, an error
/// naming both files when two are equally good.
pub fn find(dirs: &[PathBuf], milestone: &str) -> Result<Option<MilestoneDoc>, Problem> {
    let leading = milestone
        .find(['-', '_'])
        .map(|at| &milestone[..at])
        .filter(|l| !l.is_empty());
    let mut best: Option<(u8, Vec<MilestoneDoc>)> = None;
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "md") && p.is_file())
            .collect();
        files.sort();
        for path in files {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = read_head(&path);
            let (id, title) = front_matter(&text);
            let rank = if stem == milestone || id.as_deref() == Some(milestone) {
                0
            } else if super::select::has_leading_id(&stem, milestone) {
                1
            } else if leading.is_some_and(|l| stem == l || id.as_deref() == Some(l)) {
                2
            } else {
                continue;
            };
            let title = title.or_else(|| heading_title(&text, milestone, &stem));
            let doc = MilestoneDoc { path, title };
            match &mut best {
                Some((r, found)) if *r == rank => found.push(doc),
                Some((r, _)) if *r < rank => {}
                _ => best = Some((rank, vec![doc])),
            }
        }
    }
    match best {
        None => Ok(None),
        Some((_, mut found)) if found.len() == 1 => Ok(found.pop()),
        Some((_, found)) => {
            let names: Vec<String> = found.iter().map(|d| d.path.display().to_string()).collect();
            Err(Problem::error(
                &found[0].path,
                None,
                format!(
                    "milestone {milestone} has {} milestone docs: {}",
                    found.len(),
                    names.join(", ")
                ),
            )
            .with_hint(format!(
                "name one `{milestone}.md` (an exact name wins), or give the other another milestone id"
            )))
        }
    }
}

/// The first 64 KiB: front matter and the first heading are near the top.
fn read_head(path: &Path) -> String {
    use std::io::Read;
    let mut bytes = Vec::new();
    if let Ok(file) = std::fs::File::open(path) {
        let _ = file.take(64 * 1024).read_to_end(&mut bytes);
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    text.strip_prefix('\u{feff}')
        .map(str::to_owned)
        .unwrap_or(text)
}

/// `id` and `title` of the front matter, when it has one that parses.
fn front_matter(text: &str) -> (Option<String>, Option<String>) {
    let Ok(split) = frontmatter::split(text) else {
        return (None, None);
    };
    let Ok(serde_norway::Value::Mapping(map)) = serde_norway::from_str(split.yaml) else {
        return (None, None);
    };
    let text_of = |key: &str| match map.get(key) {
        Some(serde_norway::Value::String(s)) => Some(s.trim().to_owned()),
        Some(serde_norway::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    (text_of("id"), text_of("title").filter(|t| !t.is_empty()))
}

/// The first `# ` heading: `# M1: Title` (or `# M1 — Title`) gives `Title`, any other heading
/// its whole text.
fn heading_title(text: &str, milestone: &str, stem: &str) -> Option<String> {
    let body = frontmatter::split(text).map_or(text, |s| s.body);
    let heading = body.lines().find_map(|l| l.strip_prefix("# "))?.trim();
    for id in [milestone, stem] {
        if let Some(rest) = heading.strip_prefix(id) {
            let rest = rest.trim_start_matches([':', ' ', '—', '–', '-']).trim();
            if !rest.is_empty() {
                return Some(rest.to_owned());
            }
        }
    }
    (!heading.is_empty()).then(|| heading.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(files: &[(&str, &str)]) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(tmp.path().join(name), text).unwrap();
        }
        tmp
    }

    fn found(tmp: &tempfile::TempDir, milestone: &str) -> Option<(String, Option<String>)> {
        find(&[tmp.path().to_owned()], milestone).unwrap().map(|d| {
            (
                d.path.file_name().unwrap().to_string_lossy().into_owned(),
                d.title,
            )
        })
    }

    #[test]
    fn ranks_exact_then_slugged_then_leading_id() {
        let tmp = dir(&[
            (
                "M1-cli-orchestration.md",
                "# M1: CLI orchestration v0\n\nGoal.\n",
            ),
            ("M2.md", "---\ntitle: Ledger core\n---\n# M2\n"),
            ("M4-a.md", "# M4-a — first half\n"),
            ("M4-b.md", "# M4-b — second half\n"),
            ("roadmap.md", "---\nid: M5\n---\n# Roadmap\n"),
            ("M6.md", "# Six\n"),
            ("notes.txt", "M1"),
        ]);
        assert_eq!(
            found(&tmp, "M1"),
            Some((
                "M1-cli-orchestration.md".into(),
                Some("CLI orchestration v0".into())
            ))
        );
        assert_eq!(
            found(&tmp, "M2"),
            Some(("M2.md".into(), Some("Ledger core".into())))
        );
        assert_eq!(
            found(&tmp, "M4-a"),
            Some(("M4-a.md".into(), Some("first half".into())))
        );
        assert_eq!(
            found(&tmp, "M5"),
            Some(("roadmap.md".into(), Some("Roadmap".into())))
        );
        assert_eq!(
            found(&tmp, "M6-extras"),
            Some(("M6.md".into(), Some("Six".into())))
        );
        assert_eq!(found(&tmp, "M3"), None);
        let err = find(&[tmp.path().to_owned()], "M4").unwrap_err();
        assert!(err.message.contains("has 2 milestone docs"), "{err}");
        assert!(err.message.contains("M4-a.md") && err.message.contains("M4-b.md"));
    }

    #[test]
    fn dirs_sit_beside_the_issue_dirs() {
        let dirs = dirs_for([
            Path::new("docs/projects/a/issues/A-1.md"),
            Path::new("docs/projects/a/issues/A-2.md"),
        ]);
        assert_eq!(dirs, [PathBuf::from("docs/projects/a/milestones")]);
    }
}
