//! What the agent's commands may touch and see: the codex permission profile orch builds for
//! each phase, and the environment policy of its commands. Pure: paths in, arguments out.
//!
//! Measured with codex 0.169.0 (README, "The sandbox"): `-s workspace-write` mounts a linked
//! worktree's git dir read-only, so the agent cannot commit; `--add-dir` on the git dirs
//! leaves `config`, `hooks` and `commondir` writable (code execution on the host at its next
//! git call). A named permission profile can say exactly what is writable: the worktree, its
//! own git dir except `commondir`/`gitdir`, the common dir's `objects`, `refs` and `logs`
//! except `refs/replace`, and a private temp dir. In a Graphite repository gt also writes its
//! files at the common dir's root, so that variant makes the common dir writable and carves
//! out what runs code or holds the other worktrees. `-s` overrides a profile silently, so a
//! sandboxed phase never passes it.

use std::path::{Path, PathBuf};

/// The profile's name in codex's config.
pub const PROFILE: &str = "orch";

/// The environment variable marking every process started for a phase (see
/// [`crate::util::process::stop_marked`]).
pub const MARK_ENV: &str = "ORCH_PHASE_MARK";

/// How a path may be used by the agent's commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    /// Not even readable.
    None,
}

impl Access {
    fn word(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
            Access::None => "none",
        }
    }
}

/// The paths one sandboxed phase is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confinement {
    /// The worktree (the agent's working directory).
    pub worktree: PathBuf,
    /// Its git dir, `<common>/worktrees/<name>`.
    pub worktree_git: PathBuf,
    /// The repository's common git dir.
    pub common_dir: PathBuf,
    /// The phase's private temp dir (`TMPDIR` of its commands).
    pub tmp_dir: PathBuf,
    /// gt's own state dirs under the agent's HOME, when gt may run (the Graphite variant).
    pub graphite_homes: Option<Vec<PathBuf>>,
    /// The git dirs of the repository's other worktrees (which the Graphite variant must keep
    /// read-only one by one for claude).
    pub other_worktrees: Vec<PathBuf>,
    /// Existing paths holding the user's secrets, denied even for reading.
    pub deny_read: Vec<PathBuf>,
    /// Whether commands may use the network (which also opens Unix sockets).
    pub network: bool,
}

/// The profile's filesystem entries, most general first (codex lets the most specific path
/// win).
pub fn filesystem(c: &Confinement) -> Vec<(String, Access)> {
    let path = |p: &Path| p.display().to_string();
    let common = |sub: &str| path(&c.common_dir.join(sub));
    let mut entries = vec![(":root".to_owned(), Access::Read)];
    entries.push((path(&c.worktree), Access::Write));
    match &c.graphite_homes {
        None => {
            for sub in ["objects", "refs", "logs"] {
                entries.push((common(sub), Access::Write));
            }
        }
        Some(homes) => {
            entries.push((path(&c.common_dir), Access::Write));
            // Not `commondir`: a rule on it needs the file to exist, and libgit2 (orch's own
            // git) cannot open a repository whose git dir has one. Creating it is caught by
            // the post-phase check instead.
            for sub in ["config", "hooks", "modules", "worktrees"] {
                entries.push((common(sub), Access::Read));
            }
            for home in homes {
                entries.push((path(home), Access::Write));
            }
        }
    }
    entries.push((common("refs/replace"), Access::Read));
    entries.push((path(&c.worktree_git), Access::Write));
    for file in ["commondir", "gitdir"] {
        entries.push((path(&c.worktree_git.join(file)), Access::Read));
    }
    entries.push((path(&c.tmp_dir), Access::Write));
    for secret in &c.deny_read {
        entries.push((path(secret), Access::None));
    }
    entries
}

/// The `codex exec` arguments selecting the profile (never `-s`).
pub fn codex_args(c: &Confinement) -> Vec<String> {
    let table = filesystem(c)
        .iter()
        .map(|(p, a)| format!("{}={}", toml_string(p), toml_string(a.word())))
        .collect::<Vec<_>>()
        .join(",");
    vec![
        "-c".into(),
        format!("default_permissions={}", toml_string(PROFILE)),
        "-c".into(),
        format!("permissions.{PROFILE}.filesystem={{{table}}}"),
        "-c".into(),
        format!("permissions.{PROFILE}.network.enabled={}", c.network),
        "-c".into(),
        format!(
            "shell_environment_policy.set.TMPDIR={}",
            toml_string(&c.tmp_dir.display().to_string())
        ),
    ]
}

/// What the agent's commands inherit besides what `[agent] pass_env` names: the core a shell
/// needs, git's identity and config location (a commit needs them; none is a secret), and
/// orch's own (the guard's PATH prelude and context, the phase's mark). Codex adds
/// its own `CODEX_*` variables after the policy.
pub const CORE_ENV: &[&str] = &[
    "HOME",
    "PATH",
    "SHELL",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_*",
    "TERM",
    "TZ",
    "TMPDIR",
    "GIT_AUTHOR_*",
    "GIT_COMMITTER_*",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_NOSYSTEM",
    "BASH_ENV",
    crate::guard::shim::CONTEXT_ENV,
    MARK_ENV,
];

/// The `codex exec` arguments of the commands' environment policy: everything inherited,
/// then only the core and `pass` kept (names and globs, never values on the command line).
pub fn env_args(pass: &[String]) -> Vec<String> {
    let names: Vec<String> = CORE_ENV
        .iter()
        .map(|n| (*n).to_owned())
        .chain(pass.iter().cloned())
        .map(|n| toml_string(&n))
        .collect();
    vec![
        "-c".into(),
        "shell_environment_policy.inherit=\"all\"".into(),
        "-c".into(),
        "shell_environment_policy.ignore_default_excludes=true".into(),
        "-c".into(),
        format!(
            "shell_environment_policy.include_only=[{}]",
            names.join(",")
        ),
    ]
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The user's secret stores under `home` (and codex's auth file) that exist: denied to the
/// agent's commands. A missing path is left out (a rule on a missing path makes codex create
/// a placeholder for it on the host).
pub fn secret_paths(home: &Path, codex_home: &Path, keep: &[PathBuf]) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = [
        ".ssh",
        ".aws",
        ".gnupg",
        ".netrc",
        ".git-credentials",
        ".config/gh",
        ".config/gcloud",
        ".azure",
        ".kube",
        ".docker/config.json",
        ".npmrc",
        ".pypirc",
        ".cargo/credentials",
        ".cargo/credentials.toml",
        ".claude/.credentials.json",
        ".config/graphite/user_config",
    ]
    .iter()
    .map(|p| home.join(p))
    .chain([codex_home.join("auth.json")])
    .filter(|p| p.exists())
    .collect();
    paths.sort();
    paths.dedup();
    without(paths, keep)
}

/// `paths` but those inside (or holding) one of `keep`: what an agent must reach after all
/// (gt's own dirs in the Graphite variant).
pub fn without(paths: Vec<PathBuf>, keep: &[PathBuf]) -> Vec<PathBuf> {
    paths
        .into_iter()
        .filter(|p| !keep.iter().any(|k| p.starts_with(k) || k.starts_with(p)))
        .collect()
}

/// The confinement the unit tables of both agents' sandboxes are about.
#[cfg(test)]
pub(crate) fn example(graphite: bool) -> Confinement {
    Confinement {
        worktree: "/w/wt/a".into(),
        worktree_git: "/w/repo/.git/worktrees/a".into(),
        common_dir: "/w/repo/.git".into(),
        tmp_dir: "/tmp/orch-1/a-01".into(),
        graphite_homes: graphite.then(|| vec!["/h/.config/graphite".into()]),
        other_worktrees: vec!["/w/repo/.git/worktrees/b".into()],
        deny_read: vec!["/h/.ssh".into()],
        network: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn confinement(graphite: bool) -> Confinement {
        example(graphite)
    }

    #[test]
    fn the_profile_opens_the_worktree_and_the_git_dirs_commits_need_and_nothing_that_runs_code() {
        use Access::*;
        let entries = filesystem(&confinement(false));
        let table: Vec<(&str, Access)> = entries.iter().map(|(p, a)| (p.as_str(), *a)).collect();
        assert_eq!(
            table,
            vec![
                (":root", Read),
                ("/w/wt/a", Write),
                ("/w/repo/.git/objects", Write),
                ("/w/repo/.git/refs", Write),
                ("/w/repo/.git/logs", Write),
                ("/w/repo/.git/refs/replace", Read),
                ("/w/repo/.git/worktrees/a", Write),
                ("/w/repo/.git/worktrees/a/commondir", Read),
                ("/w/repo/.git/worktrees/a/gitdir", Read),
                ("/tmp/orch-1/a-01", Write),
                ("/h/.ssh", None),
            ]
        );
        let graphite = filesystem(&confinement(true));
        let access = |p: &str| graphite.iter().rev().find(|(q, _)| q == p).map(|(_, a)| *a);
        assert_eq!(access("/w/repo/.git"), Some(Write));
        for sub in ["config", "hooks", "modules", "worktrees", "refs/replace"] {
            assert_eq!(access(&format!("/w/repo/.git/{sub}")), Some(Read), "{sub}");
        }
        assert_eq!(access("/w/repo/.git/worktrees/a"), Some(Write));
        assert_eq!(access("/h/.config/graphite"), Some(Write));
    }

    #[test]
    fn arguments_are_toml_that_codex_reads_and_never_a_sandbox_flag() {
        let mut c = confinement(false);
        c.worktree = PathBuf::from("/w/it's \"here\"");
        let args = codex_args(&c);
        assert!(!args.iter().any(|a| a == "-s" || a.starts_with("--sandbox")));
        let table = args[3]
            .strip_prefix("permissions.orch.filesystem=")
            .unwrap();
        let parsed: toml::Value = toml::from_str(&format!("t = {table}")).unwrap();
        assert_eq!(parsed["t"]["/w/it's \"here\""].as_str(), Some("write"));
        assert_eq!(args[5], "permissions.orch.network.enabled=false");
        let env = env_args(&["NPM_CONFIG_REGISTRY".into()]);
        let list = env[5]
            .strip_prefix("shell_environment_policy.include_only=")
            .unwrap();
        let parsed: toml::Value = toml::from_str(&format!("l = {list}")).unwrap();
        let names: Vec<&str> = parsed["l"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(names.contains(&"NPM_CONFIG_REGISTRY") && names.contains(&"PATH"));
        assert!(!names
            .iter()
            .any(|n| n.contains("KEY") || n.contains("TOKEN")));
    }

    #[test]
    fn only_existing_secret_stores_are_denied_and_never_a_dir_gt_must_write() {
        let home = tempfile::tempdir().unwrap();
        let h = home.path();
        std::fs::create_dir_all(h.join(".ssh")).unwrap();
        std::fs::create_dir_all(h.join(".config/graphite")).unwrap();
        std::fs::write(h.join(".config/graphite/user_config"), "{}").unwrap();
        std::fs::create_dir_all(h.join(".codex")).unwrap();
        std::fs::write(h.join(".codex/auth.json"), "{}").unwrap();
        let all = secret_paths(h, &h.join(".codex"), &[]);
        assert_eq!(
            all,
            vec![
                h.join(".codex/auth.json"),
                h.join(".config/graphite/user_config"),
                h.join(".ssh")
            ]
        );
        let kept = secret_paths(h, &h.join(".codex"), &[h.join(".config/graphite")]);
        assert_eq!(kept, vec![h.join(".codex/auth.json"), h.join(".ssh")]);
    }
}
