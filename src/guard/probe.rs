//! Which attempts only look: `git status`, `git log`, `gt ls`, … An agent runs dozens of
//! them per phase; `orch guard log` leaves them out by default so the commands that change
//! something (and every refusal) stand out. Pure: argv in, yes or no out.

/// Whether `tool argv` (`argv` after the program name) only reads the repository.
pub fn is_probe(tool: &str, argv: &[String]) -> bool {
    match tool {
        "git" => git_reads(argv),
        "gt" => super::gt::only_reads(argv),
        _ => false,
    }
}

/// git subcommands that never write, whatever their options.
const GIT_READERS: &[&str] = &[
    "status",
    "log",
    "show",
    "diff",
    "rev-parse",
    "rev-list",
    "ls-files",
    "ls-tree",
    "ls-remote",
    "cat-file",
    "describe",
    "blame",
    "grep",
    "shortlog",
    "merge-base",
    "for-each-ref",
    "show-ref",
    "name-rev",
    "whatchanged",
    "var",
    "help",
    "version",
    "check-ignore",
    "count-objects",
];

fn git_reads(argv: &[String]) -> bool {
    let (options, i) = super::git::globals(argv);
    let Some(sub) = argv.get(i) else {
        // Only options: `git --version`, `git --help`.
        return options
            .iter()
            .all(|(n, _)| matches!(*n, "--version" | "--help" | "-h" | "--no-pager"));
    };
    let rest: Vec<&str> = argv[i + 1..].iter().map(String::as_str).collect();
    let flags_only = |allowed: &[&str]| {
        rest.iter()
            .all(|a| a.starts_with('-') && allowed.iter().any(|f| a.starts_with(f)))
    };
    match sub.as_str() {
        s if GIT_READERS.contains(&s) => true,
        // Listing, not creating, deleting or moving.
        "branch" => flags_only(&[
            "--show-current",
            "--list",
            "-l",
            "-a",
            "--all",
            "-r",
            "--remotes",
            "-v",
            "-vv",
            "--verbose",
            "--contains",
            "--merged",
            "--no-merged",
            "--points-at",
            "--format",
            "--sort",
            "--no-color",
            "--color",
            "--column",
            "--no-column",
        ]),
        "tag" => rest.is_empty() || flags_only(&["-l", "--list", "--contains", "--points-at"]),
        "remote" => {
            rest.is_empty() || rest == ["-v"] || rest.first().is_some_and(|w| *w == "get-url")
        }
        "config" => rest.first().is_some_and(|w| {
            matches!(
                *w,
                "--get" | "--get-all" | "--get-regexp" | "--list" | "-l" | "get" | "list"
            )
        }),
        "worktree" => rest.first().is_some_and(|w| *w == "list"),
        "stash" => rest.first().is_some_and(|w| matches!(*w, "list" | "show")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn probes_and_the_rest() {
        let table = [
            ("git", "status --porcelain", true),
            ("git", "-C /wt log --oneline -5", true),
            ("git", "--no-pager diff HEAD~1", true),
            ("git", "branch --show-current", true),
            ("git", "branch -a -v", true),
            ("git", "branch feature", false),
            ("git", "branch -D main", false),
            ("git", "rev-parse HEAD", true),
            ("git", "config --get user.name", true),
            ("git", "config user.name x", false),
            ("git", "remote -v", true),
            ("git", "remote add o url", false),
            ("git", "worktree list", true),
            ("git", "worktree add ../x", false),
            ("git", "stash list", true),
            ("git", "stash", false),
            ("git", "tag", true),
            ("git", "tag v1", false),
            ("git", "commit -m x", false),
            ("git", "add -A", false),
            ("git", "push", false),
            ("git", "--version", true),
            ("gt", "ls", true),
            ("gt", "log short", true),
            ("gt", "info", true),
            ("gt", "branch info", true),
            ("gt", "--help", true),
            ("gt", "create x -m y", false),
            ("gt", "sync", false),
            ("gt", "submit --draft", false),
            ("sh", "ls", false),
        ];
        for (tool, argv, want) in table {
            assert_eq!(is_probe(tool, &words(argv)), want, "{tool} {argv}");
        }
    }
}
