//! What confines a claude phase: the settings orch hands Claude Code (`--settings`, with no
//! other setting source loaded) so that its Bash tool runs every command in Claude Code's own
//! sandbox (bubblewrap, as measured with 2.1.328 as root on Linux) and its file tools stay in
//! the worktree. Pure: a [`Confinement`] in, the settings out.
//!
//! Measured (README, "Claude Code's sandbox"): the sandbox confines only the Bash tool; the
//! file tools obey the permission mode, so a confined phase runs `acceptEdits` (edits inside
//! the working directory, nothing else without a prompt, and a prompt headless is a denial)
//! instead of `bypassPermissions` (which let `Write` reach any path). A `denyWrite` wins over a
//! more specific `allowWrite`, so the Graphite variant (the common dir writable for gt) names
//! the other worktrees' git dirs one by one instead of denying `worktrees/`. Sandboxed commands
//! are allowed outright: auto-allow alone still asks for some (a `$?` next to `command -v`),
//! and a question headless is a denial.

use super::sandbox::Confinement;
use serde_json::{json, Value};
use std::path::Path;

/// What Claude Code's sandbox masks in the working directory when missing (measured with
/// 2.1.328: each appears inside as `/dev/null` bound over the name, so `git add -A` fails on
/// "can only add regular files"): orch keeps them out of git's view in `info/exclude`.
pub const MASKED: &[&str] = &[
    ".bash_profile",
    ".bashrc",
    ".gitconfig",
    ".gitmodules",
    ".idea",
    ".mcp.json",
    ".profile",
    ".ripgreprc",
    ".vscode",
    ".zprofile",
    ".zshrc",
    ".claude/agents",
    ".claude/commands",
    ".claude/hooks",
    ".claude/launch.json",
    ".claude/loop.md",
    ".claude/output-styles",
    ".claude/routines",
    ".claude/scheduled_tasks.json",
    ".claude/settings.json",
    ".claude/settings.local.json",
    ".claude/skills",
    ".claude/workflows",
    // Made by Claude Code itself (an empty dir on the host).
    ".claude/.cc-writes",
];

/// The header of those lines in `info/exclude`.
pub const MASKED_HEADER: &str =
    "# orch: what Claude Code's sandbox masks at a worktree's top (untracked files of these names stay out of git add -A)";

/// Variables claude reads that its commands must not see (its own credentials): given to
/// the sandbox's `credentials.envVars` as `deny` when they are in claude's environment.
pub fn hidden(name: &str) -> bool {
    let secretish = ["KEY", "TOKEN", "SECRET", "HEADERS"]
        .iter()
        .any(|w| name.contains(w));
    (name.starts_with("ANTHROPIC_") && name != "ANTHROPIC_BASE_URL")
        || (name.starts_with("CLAUDE_") && secretish && !name.ends_with("_TTL_MS"))
}

/// The settings of a confined claude phase; `hide` names the variables its commands must not
/// see.
pub fn settings(c: &Confinement, hide: &[String]) -> Value {
    let path = |p: &Path| p.display().to_string();
    let common = |sub: &str| path(&c.common_dir.join(sub));
    let mut allow_write = Vec::new();
    let mut deny_write = Vec::new();
    match &c.graphite_homes {
        None => {
            allow_write.extend(["objects", "refs", "logs"].map(common));
        }
        Some(homes) => {
            allow_write.push(path(&c.common_dir));
            // Not `commondir`: a rule on a missing file makes it unreadable inside, which git
            // takes for a broken repository (`git worktree list`: "failed to read …/commondir").
            // Its creation is caught by the post-phase check instead, as for codex.
            deny_write.extend(["config", "hooks", "modules", "info"].map(common));
            deny_write.extend(c.other_worktrees.iter().map(|p| path(p)));
            allow_write.extend(homes.iter().map(|h| path(h)));
        }
    }
    allow_write.push(path(&c.worktree_git));
    allow_write.push(path(&c.tmp_dir));
    deny_write.push(common("refs/replace"));
    deny_write.extend(["commondir", "gitdir"].map(|f| path(&c.worktree_git.join(f))));
    let deny_read: Vec<String> = c.deny_read.iter().map(|p| path(p)).collect();
    // Claude Code's path rules for its tools: `//` starts an absolute path; a secret is a
    // file or a directory, so both forms (no look at the disk: this stays pure).
    let mut deny_tools: Vec<String> = Vec::new();
    for tool in ["Read", "Edit"] {
        for p in &deny_read {
            deny_tools.push(format!("{tool}(/{p})"));
            deny_tools.push(format!("{tool}(/{p}/**)"));
        }
    }
    json!({
        "sandbox": {
            "enabled": true,
            // Never run a command open: no sandbox is a failed start, not a warning.
            "failIfUnavailable": true,
            "autoAllowBashIfSandboxed": true,
            "allowUnsandboxedCommands": false,
            "filesystem": {
                "allowWrite": allow_write,
                "denyWrite": deny_write,
                "denyRead": deny_read,
            },
            "network": {
                "allowedDomains": if c.network { vec!["*"] } else { Vec::new() },
            },
            "credentials": {
                "envVars": hide.iter().map(|n| json!({"name": n, "mode": "deny"})).collect::<Vec<_>>(),
            },
        },
        "permissions": {
            // Every command: each runs in the sandbox (never outside it), so Claude Code's own
            // checks for what it cannot read ahead ("a variable in this command …") would only
            // turn into denials headless. Reading anywhere is what the commands may do too;
            // the secrets are denied.
            "allow": ["Bash", "Read(//**)"],
            "deny": deny_tools,
        },
    })
}

/// The `claude` arguments of a confined phase.
pub fn args(c: &Confinement, hide: &[String]) -> Vec<String> {
    vec![
        "--permission-mode".into(),
        "acceptEdits".into(),
        // Only orch's settings: a project's `.claude/settings*.json` (which an agent could
        // write in the worktree) or the user's own could widen what is allowed.
        "--setting-sources".into(),
        String::new(),
        "--settings".into(),
        settings(c, hide).to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn confinement(graphite: bool) -> Confinement {
        crate::agent::sandbox::example(graphite)
    }

    fn strings(v: &Value) -> Vec<&str> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect()
    }

    #[test]
    fn a_plain_repository_gets_its_git_dirs_and_no_more() {
        let s = settings(&confinement(false), &["ANTHROPIC_API_KEY".into()]);
        let fs = &s["sandbox"]["filesystem"];
        assert_eq!(
            strings(&fs["allowWrite"]),
            [
                "/w/repo/.git/objects",
                "/w/repo/.git/refs",
                "/w/repo/.git/logs",
                "/w/repo/.git/worktrees/a",
                "/tmp/orch-1/a-01"
            ]
        );
        assert_eq!(
            strings(&fs["denyWrite"]),
            [
                "/w/repo/.git/refs/replace",
                "/w/repo/.git/worktrees/a/commondir",
                "/w/repo/.git/worktrees/a/gitdir"
            ]
        );
        assert_eq!(strings(&fs["denyRead"]), ["/h/.ssh"]);
        assert_eq!(s["sandbox"]["failIfUnavailable"], true);
        assert_eq!(s["sandbox"]["allowUnsandboxedCommands"], false);
        assert_eq!(
            strings(&s["sandbox"]["network"]["allowedDomains"]),
            Vec::<&str>::new()
        );
        assert_eq!(
            s["sandbox"]["credentials"]["envVars"][0],
            json!({"name": "ANTHROPIC_API_KEY", "mode": "deny"})
        );
        assert_eq!(
            strings(&s["permissions"]["deny"]),
            [
                "Read(//h/.ssh)",
                "Read(//h/.ssh/**)",
                "Edit(//h/.ssh)",
                "Edit(//h/.ssh/**)"
            ]
        );
    }

    #[test]
    fn the_graphite_variant_opens_the_common_dir_but_not_what_runs_code() {
        let mut c = confinement(true);
        c.network = true;
        let s = settings(&c, &[]);
        let fs = &s["sandbox"]["filesystem"];
        let allow = strings(&fs["allowWrite"]);
        assert!(allow.contains(&"/w/repo/.git") && allow.contains(&"/h/.config/graphite"));
        let deny = strings(&fs["denyWrite"]);
        for d in [
            "/w/repo/.git/config",
            "/w/repo/.git/hooks",
            "/w/repo/.git/worktrees/b",
            "/w/repo/.git/refs/replace",
            "/w/repo/.git/worktrees/a/commondir",
        ] {
            assert!(deny.contains(&d), "{d}");
        }
        assert!(!deny.contains(&"/w/repo/.git/worktrees"));
        assert_eq!(strings(&s["sandbox"]["network"]["allowedDomains"]), ["*"]);
    }

    #[test]
    fn only_claudes_own_credentials_are_hidden() {
        for (name, hide) in [
            ("ANTHROPIC_API_KEY", true),
            ("ANTHROPIC_AUTH_TOKEN", true),
            ("CLAUDE_CODE_OAUTH_TOKEN", true),
            ("ANTHROPIC_CUSTOM_HEADERS", true),
            ("CLAUDE_CODE_API_KEY_HELPER_TTL_MS", false),
            ("ANTHROPIC_BASE_URL", false),
            ("CLAUDE_CONFIG_DIR", false),
            ("PATH", false),
        ] {
            assert_eq!(hidden(name), hide, "{name}");
        }
        let a = args(&confinement(false), &[]);
        assert_eq!(
            &a[..4],
            ["--permission-mode", "acceptEdits", "--setting-sources", ""]
        );
    }
}
