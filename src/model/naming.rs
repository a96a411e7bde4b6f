//! Branch and worktree names for an issue: pure functions, shared by `plan` and the git layer.
//!
//! Everything a run owns is named after its [`Scope`]: the project (when the docs tree has
//! projects) and the milestone, so two projects' `M1` never share a branch, worktree, log
//! directory, run state or approval file.
//!
//! Whatever an issue id, project, milestone or title contains (slashes, `..`, spaces,
//! unicode, a leading `-`, control characters), the results stay inside `refs/heads/orch/`
//! and inside the worktree root. A component that had to be changed gets a short hash of its
//! original spelling appended, so two different ids never collapse onto one name.

/// The first ten hex digits of an object id, as orch shows one.
pub fn short_oid(oid: &str) -> &str {
    &oid[..oid.len().min(10)]
}

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What a run is of: a milestone of one project (`ledger-api/M1`), or a milestone of a docs
/// tree without projects (`M1`). Plan-file runs are scoped by the plan's name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Scope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    pub milestone: String,
}

/// By project (a tree without projects first), then milestone in natural order (`M2`
/// before `M10`): the order every list of milestones shows.
impl Ord for Scope {
    fn cmp(&self, other: &Scope) -> std::cmp::Ordering {
        self.project.cmp(&other.project).then_with(|| {
            crate::model::natural::compare(&self.milestone, &other.milestone)
                .then_with(|| self.milestone.cmp(&other.milestone))
        })
    }
}

impl PartialOrd for Scope {
    fn partial_cmp(&self, other: &Scope) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Scope {
    pub fn new(project: Option<&str>, milestone: &str) -> Scope {
        Scope {
            project: project.map(str::to_owned),
            milestone: milestone.to_owned(),
        }
    }

    /// The name components, each made safe: `[project,] milestone`.
    pub fn components(&self) -> Vec<String> {
        self.project
            .iter()
            .chain(std::iter::once(&self.milestone))
            .map(|c| ref_component(c))
            .collect()
    }

    /// `<project>/<milestone>` (or `<milestone>`) as a relative directory.
    pub fn dir(&self) -> PathBuf {
        self.components().iter().collect()
    }

    /// `<project>/<milestone>` (or `<milestone>`) as a part of a ref name.
    pub fn ref_path(&self) -> String {
        self.components().join("/")
    }
}

impl std::fmt::Display for Scope {
    /// As the user names it on the command line: `ledger-api/M1`, or `M1`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.project {
            Some(p) => write!(f, "{p}/{}", self.milestone),
            None => f.write_str(&self.milestone),
        }
    }
}

/// Every branch orch creates lives under this prefix.
pub const BRANCH_PREFIX: &str = "orch";
/// Longest slug taken from a title.
pub const SLUG_MAX: usize = 40;
/// Longest id or milestone component before it is shortened (and hashed).
const COMPONENT_MAX: usize = 64;

/// `orch/[<project>/]<milestone>/<id>-<slug>`, or without `-<slug>` when the title has no
/// usable characters.
pub fn branch_name(scope: &Scope, id: &str, title: &str) -> String {
    let slug = slug(title);
    let mut name = format!("{BRANCH_PREFIX}/{}/{}", scope.ref_path(), ref_component(id));
    if !slug.is_empty() {
        name.push('-');
        name.push_str(&slug);
    }
    name
}

/// `<worktree_root>/[<project>/]<milestone>/<id>`, every component sanitised.
pub fn worktree_path(worktree_root: &Path, scope: &Scope, id: &str) -> PathBuf {
    worktree_root.join(scope.dir()).join(ref_component(id))
}

/// The default worktree root: a sibling of the repository, `<repo>/../<repo-name>.orch-worktrees`.
pub fn default_worktree_root(repo_root: &Path) -> PathBuf {
    let name = repo_root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "repo".to_owned());
    let parent = repo_root.parent().unwrap_or(repo_root);
    parent.join(format!("{name}.orch-worktrees"))
}

/// Lowercase ASCII words of `title` joined by `-`, at most [`SLUG_MAX`] characters,
/// cut at a word boundary where one is near.
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    let mut pending_dash = false;
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_dash && !out.is_empty() {
                out.push('-');
            }
            pending_dash = false;
            out.push(c.to_ascii_lowercase());
        } else {
            pending_dash = true;
        }
    }
    if out.len() > SLUG_MAX {
        let cut = &out[..SLUG_MAX];
        let at_word = out.as_bytes()[SLUG_MAX] == b'-';
        out = match (at_word, cut.rfind('-')) {
            (true, _) => cut.to_owned(),
            (false, Some(dash)) if dash >= SLUG_MAX / 2 => cut[..dash].to_owned(),
            _ => cut.to_owned(),
        };
    }
    out.trim_matches('-').to_owned()
}

/// One path/ref component built from user text: only `[A-Za-z0-9._-]`, no `..`, no leading
/// `.` or `-`, no trailing `.` or `.lock`. If anything had to change, `-<hash>` of the original
/// is appended so distinct inputs stay distinct.
pub fn ref_component(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
            c
        } else {
            '-'
        };
        let last = out.chars().last();
        if (c == '-' && last == Some('-')) || (c == '.' && last == Some('.')) {
            continue;
        }
        out.push(c);
    }
    let mut out = out.trim_start_matches(['-', '.']).to_owned();
    while out.ends_with('.') || out.ends_with(".lock") || out.ends_with('-') {
        out = out
            .trim_end_matches(".lock")
            .trim_end_matches(['.', '-'])
            .to_owned();
    }
    if out.len() > COMPONENT_MAX {
        out.truncate(COMPONENT_MAX);
        out = out.trim_end_matches(['.', '-']).to_owned();
    }
    if out != raw || out.is_empty() {
        let hash = format!("{:08x}", fnv1a(raw.as_bytes()) as u32);
        out = if out.is_empty() {
            format!("x-{hash}")
        } else {
            format!("{out}-{hash}")
        };
    }
    out
}

/// FNV-1a: tiny, stable across versions and platforms (unlike `DefaultHasher`).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// git's rules for a branch name (`git check-ref-format --branch`), for names orch makes.
pub fn is_valid_branch_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && !name.starts_with('/')
        && !name.ends_with('/')
        && !name.ends_with('.')
        && !name.contains("..")
        && !name.contains("//")
        && !name.contains("@{")
        && name != "@"
        && name
            .split('/')
            .all(|part| !part.is_empty() && !part.starts_with('.') && !part.ends_with(".lock"))
        && !name.chars().any(|c| {
            c.is_ascii_control() || matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\')
        })
}

/// `refs/orch/rescue/[<project>/]<milestone>/<id>/`.
pub fn rescue_prefix(scope: &Scope, id: &str) -> String {
    format!(
        "refs/orch/rescue/{}/{}/",
        scope.ref_path(),
        ref_component(id)
    )
}

/// `refs/orch/runs/<run>/<id>/`: where an issue's phases are pinned in a run.
pub fn pins_prefix(run_id: &str, id: &str) -> String {
    format!(
        "refs/orch/runs/{}/{}/",
        ref_component(run_id),
        ref_component(id)
    )
}

/// `refs/orch/results/<run>/<id>`: the result a runner pushes of an issue (`orch work`).
pub fn result_ref(run_id: &str, id: &str) -> String {
    format!(
        "refs/orch/results/{}/{}",
        ref_component(run_id),
        ref_component(id)
    )
}

/// `refs/orch/bases/<run>/<id>`: the commit an issue dispatched to a runner starts from.
pub fn base_ref(run_id: &str, id: &str) -> String {
    format!(
        "refs/orch/bases/{}/{}",
        ref_component(run_id),
        ref_component(id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_sort_by_project_then_milestone_in_natural_order() {
        let mut scopes = [
            Scope::new(Some("b"), "M1"),
            Scope::new(Some("a"), "M10"),
            Scope::new(None, "M3"),
            Scope::new(Some("a"), "M2"),
        ];
        scopes.sort();
        let names: Vec<String> = scopes.iter().map(Scope::to_string).collect();
        assert_eq!(names, ["M3", "a/M2", "a/M10", "b/M1"]);
    }

    fn m(milestone: &str) -> Scope {
        Scope::new(None, milestone)
    }

    #[test]
    fn ordinary_names_are_readable() {
        assert_eq!(
            branch_name(&m("M1"), "LEDGER-2", "Add the ledger schema (v2)!"),
            "orch/M1/LEDGER-2-add-the-ledger-schema-v2"
        );
        assert_eq!(branch_name(&m("M1"), "X-1", "¿¿??"), "orch/M1/X-1");
        assert_eq!(
            worktree_path(Path::new("/w"), &m("M1"), "LEDGER-2"),
            Path::new("/w/M1/LEDGER-2")
        );
    }

    #[test]
    fn a_project_scope_names_everything_after_the_project() {
        let scope = Scope::new(Some("ledger-api"), "M1");
        assert_eq!(scope.to_string(), "ledger-api/M1");
        assert_eq!(
            branch_name(&scope, "LEDGER-2", "Posting"),
            "orch/ledger-api/M1/LEDGER-2-posting"
        );
        assert_eq!(
            worktree_path(Path::new("/w"), &scope, "LEDGER-2"),
            Path::new("/w/ledger-api/M1/LEDGER-2")
        );
        assert_eq!(scope.dir(), Path::new("ledger-api/M1"));
        let other = Scope::new(Some("web-console"), "M1");
        assert_ne!(
            branch_name(&scope, "X-1", "t"),
            branch_name(&other, "X-1", "t")
        );
    }

    #[test]
    fn slug_is_bounded_and_cut_at_a_word() {
        let s = slug("Implement the reconciliation engine for multi currency ledgers");
        assert!(s.len() <= SLUG_MAX, "{s}");
        assert_eq!(s, "implement-the-reconciliation-engine-for");
        assert_eq!(slug("  --Hello,   World--  "), "hello-world");
        assert_eq!(slug(&"a".repeat(100)).len(), SLUG_MAX);
    }

    #[test]
    fn hostile_components_are_contained() {
        let table = [
            "../../etc/passwd",
            "..",
            ".",
            "-rf",
            "a b",
            "問題-1",
            "x.lock",
            "refs/heads/main",
            "@{-1}",
            "a\nb",
            "",
            "trailing.",
            "~^:?*[\\",
        ];
        for raw in table {
            let c = ref_component(raw);
            assert!(!c.contains('/') && !c.contains(".."), "{raw:?} -> {c:?}");
            assert!(!c.starts_with(['-', '.']), "{raw:?} -> {c:?}");
            let branch = branch_name(&m(raw), raw, raw);
            assert!(is_valid_branch_name(&branch), "{raw:?} -> {branch:?}");
            assert_eq!(branch.split('/').count(), 3, "{branch}");
            let scoped = branch_name(&Scope::new(Some(raw), raw), raw, raw);
            assert!(is_valid_branch_name(&scoped), "{raw:?} -> {scoped:?}");
            assert_eq!(scoped.split('/').count(), 4, "{scoped}");
            let root = Path::new("/wt");
            let path = worktree_path(root, &m(raw), raw);
            assert_eq!(path.components().count(), 4, "{raw:?} -> {path:?}");
            assert!(path.starts_with(root));
        }
    }

    #[test]
    fn changed_components_stay_distinct() {
        assert_ne!(ref_component("a b"), ref_component("a-b"));
        assert_ne!(ref_component("a/b"), ref_component("a b"));
        assert_eq!(ref_component("LEDGER-1"), "LEDGER-1");
        assert_eq!(ref_component("a/b"), ref_component("a/b"));
    }

    #[test]
    fn default_root_is_a_sibling() {
        assert_eq!(
            default_worktree_root(Path::new("/src/shop")),
            Path::new("/src/shop.orch-worktrees")
        );
    }
}
