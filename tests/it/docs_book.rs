//! The user's documentation: the README and the `docs/` book link only to what exists, the
//! commands they show are orch's, and `orch man` writes a page for every command.

use crate::support::TestEnv;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every chapter under docs/.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md")];
    let mut chapters: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("a docs/ folder")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    chapters.sort();
    assert!(chapters.len() >= 8, "docs/ has its chapters: {chapters:?}");
    pages.extend(chapters);
    pages
}

/// The text outside fenced code blocks (links in examples are not links).
fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            out.push('\n');
            continue;
        }
        if !fenced {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// `[text](target)` targets, with the line each is on.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in prose(text).lines().enumerate() {
        for target in targets(line) {
            out.push((n + 1, target));
        }
    }
    out
}

/// The targets of the `[text](target)` links on one line.
fn targets(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("](") {
        let after = &rest[i + 2..];
        let Some(end) = after.find(')') else { break };
        let target = &after[..end];
        if !target.is_empty() && !target.contains(char::is_whitespace) {
            found.push(target.to_owned());
        }
        rest = &after[end..];
    }
    found
}

/// GitHub's anchors for a page's headings (lowercase; letters, digits, `-` and `_` kept,
/// spaces to `-`, the rest dropped; a repeated one gets `-1`, `-2`, …).
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for line in prose(text).lines() {
        let Some(title) = line.strip_prefix('#') else {
            continue;
        };
        let title = title.trim_start_matches('#');
        if !title.starts_with(' ') {
            continue;
        }
        let base: String = title
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let mut slug = base.clone();
        let mut n = 0;
        while !seen.insert(slug.clone()) {
            n += 1;
            slug = format!("{base}-{n}");
        }
    }
    seen
}

#[test]
fn every_relative_link_in_the_readme_and_the_book_resolves() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for (line, target) in links(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (file, anchor) = match target.split_once('#') {
                Some((f, a)) => (f, Some(a)),
                None => (target.as_str(), None),
            };
            let dest = if file.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap().join(file)
            };
            let shown = format!(
                "{}:{line}: {target}",
                page.strip_prefix(root()).unwrap().display()
            );
            if !dest.exists() {
                broken.push(format!("{shown} (no such file)"));
                continue;
            }
            if !dest.starts_with(root()) && !dest.canonicalize().unwrap().starts_with(root()) {
                broken.push(format!("{shown} (outside the repository)"));
                continue;
            }
            if let Some(anchor) = anchor {
                let heads = anchors(&std::fs::read_to_string(&dest).unwrap_or_default());
                if !heads.contains(anchor) {
                    broken.push(format!("{shown} (no heading #{anchor})"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    assert!(
        checked >= 20,
        "the pages link to each other: {checked} links"
    );
}

#[test]
fn the_book_summary_lists_every_chapter() {
    let summary = std::fs::read_to_string(root().join("docs/SUMMARY.md")).unwrap();
    let listed: BTreeSet<String> = links(&summary).into_iter().map(|(_, t)| t).collect();
    for page in pages().iter().skip(1) {
        let name = page.file_name().unwrap().to_str().unwrap();
        if name == "SUMMARY.md" {
            continue;
        }
        assert!(listed.contains(name), "SUMMARY.md lists {name}");
    }
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        readme.lines().count() <= 320,
        "the README is a front door: {} lines",
        readme.lines().count()
    );
}

/// The subcommands `orch --help` lists.
fn subcommands(env: &TestEnv) -> BTreeSet<String> {
    let out = env.orch_ok(&["--help"]);
    let help = String::from_utf8(out.stdout).unwrap();
    help.split("Commands:")
        .nth(1)
        .expect("a command list")
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        // A command's line, not its wrapped description.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_orch_command_the_pages_show_is_one_orch_has() {
    let env = TestEnv::new();
    let known = subcommands(&env);
    assert!(known.contains("run") && known.contains("man"), "{known:?}");
    let mut unknown = Vec::new();
    let mut shown = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let mut fenced = None;
        for (n, line) in text.lines().enumerate() {
            if let Some(lang) = line.trim_start().strip_prefix("```") {
                fenced = match fenced {
                    None => Some(lang.trim().to_owned()),
                    Some(_) => None,
                };
                continue;
            }
            let Some(lang) = &fenced else { continue };
            if !matches!(lang.as_str(), "sh" | "bash" | "console" | "shell") {
                continue;
            }
            let line = line.trim_start().trim_start_matches("$ ");
            let Some(rest) = line.strip_prefix("orch ") else {
                continue;
            };
            // The first word that is not an option is the subcommand.
            let mut words = rest.split_whitespace();
            let mut sub = None;
            while let Some(w) = words.next() {
                if w == "-C" || w == "--repo" || w == "--color" {
                    words.next();
                } else if !w.starts_with('-') {
                    sub = Some(w);
                    break;
                }
            }
            let Some(sub) = sub else { continue };
            shown += 1;
            if !known.contains(sub) {
                unknown.push(format!(
                    "{}:{}: orch {sub}",
                    page.strip_prefix(root()).unwrap().display(),
                    n + 1
                ));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "not orch commands:\n{}",
        unknown.join("\n")
    );
    assert!(shown >= 10, "the pages show commands: {shown}");
}

#[test]
fn orch_man_writes_a_page_for_every_command() {
    let env = TestEnv::new();
    let dir = env.repo.join("man");
    let out = env.orch_ok(&["man", "--dir", dir.to_str().unwrap()]);
    let listed = String::from_utf8(out.stdout).unwrap();
    for sub in subcommands(&env) {
        if sub == "help" {
            continue;
        }
        let page = dir.join(format!("orch-{sub}.1"));
        assert!(listed.contains(page.to_str().unwrap()), "{listed}");
        let roff = std::fs::read_to_string(&page).unwrap();
        assert!(roff.contains(&format!(".TH orch-{sub} 1")), "{roff}");
    }
    // Nested commands get theirs, hidden ones none.
    assert!(dir.join("orch-guard-log.1").is_file());
    assert!(dir.join("orch-plan-validate.1").is_file());
    assert!(!dir.join("orch-debug.1").exists());
    assert!(!dir.join("orch-__complete.1").exists());
    // Without --dir, the main page on stdout.
    let top = env.orch_ok(&["man"]);
    let top = String::from_utf8(top.stdout).unwrap();
    assert!(top.contains(".TH orch 1"), "{top}");
    assert!(
        top.contains("verify\\-clean"),
        "it lists the commands: {top}"
    );
}
