//! `orch docs fix` on `fixtures/docs-fix/before`: byte for byte what `after/` holds, the diff
//! it prints (`expected.diff`, which `git apply` takes), a second run that changes nothing,
//! `--dry-run`, uncommitted docs refused unless `--force`, and `--project`.

use crate::support;
use std::path::Path;
use support::{copy_dir, fixtures, TestEnv};

fn repo() -> TestEnv {
    let env = TestEnv::new();
    copy_dir(
        &fixtures().join("docs-fix/before/docs"),
        &env.repo.join("docs"),
    );
    env.git(&["add", "."]);
    env.git(&["commit", "-q", "-m", "sloppy docs"]);
    env
}

fn files(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let rel = entry.path().strip_prefix(root).unwrap();
            out.push((
                rel.display().to_string(),
                std::fs::read(entry.path()).unwrap(),
            ));
        }
    }
    out
}

fn expected_diff() -> String {
    std::fs::read_to_string(fixtures().join("docs-fix/expected.diff")).unwrap()
}

#[test]
fn repairs_exactly_what_it_reports_byte_for_byte() {
    let env = repo();
    let out = env.orch().args(["docs", "fix"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The unclosed list of SLOP-5 is not mechanical: listed, and the exit says so.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected_diff());
    assert!(stderr.contains("repaired 6 things in 4 docs"), "{stderr}");
    assert!(
        stderr.contains("Left as they are (not mechanical):")
            && stderr.contains("SLOP-5-unclosed-list.md:6: error: front matter is not valid YAML"),
        "{stderr}"
    );
    assert_eq!(
        files(&env.repo.join("docs")),
        files(&fixtures().join("docs-fix/after/docs"))
    );
    // The fixed docs parse; the title kept its text; the edges are two-sided now.
    let blocked = env.orch().args(["plan", "sloppy/M1"]).output().unwrap();
    let why = String::from_utf8_lossy(&blocked.stderr);
    assert_eq!(blocked.status.code(), Some(1), "{why}");
    assert!(
        why.contains("SLOP-5-unclosed-list.md:6: error: front matter is not valid YAML")
            && why.contains("cannot plan milestone sloppy/M1: 1 error"),
        "SLOP-5 still blocks sloppy/M1, and only it: {why}"
    );
    let plan = env.orch_ok(&["plan", "other/M1", "--json"]);
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(plan["issues"][0]["dependencies"][0]["kind"], "pending");
    let again = env.orch().args(["docs", "fix"]).output().unwrap();
    assert!(
        again.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("nothing to repair in 6 docs"));
    // The diff is one `git apply` takes: on a fresh copy it makes the same files.
    let other = repo();
    std::fs::write(other.root().join("fix.diff"), expected_diff()).unwrap();
    other.git(&["apply", "../fix.diff"]);
    assert_eq!(
        files(&other.repo.join("docs")),
        files(&env.repo.join("docs"))
    );
}

#[test]
fn dry_run_prints_the_diff_and_writes_nothing() {
    let env = repo();
    let before = env.snapshot_tree();
    let out = env
        .orch()
        .args(["docs", "fix", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected_diff());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("would repair 6 things in 4 docs (dry run: nothing was written)"));
    assert_eq!(before, env.snapshot_tree());
}

#[test]
fn a_doc_with_uncommitted_changes_is_not_written_unless_forced() {
    let env = repo();
    let slop2 = env
        .repo
        .join("docs/projects/sloppy/issues/SLOP-2-colon-title.md");
    let mut text = std::fs::read_to_string(&slop2).unwrap();
    text.push_str("A line not committed yet.\n");
    std::fs::write(&slop2, &text).unwrap();
    let before = env.snapshot_tree();
    let out = env.orch().args(["docs", "fix"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("SLOP-2-colon-title.md: modified, not committed")
            && stderr.contains("1 doc to repair has uncommitted changes; nothing was written")
            && stderr.contains("pass --force"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    assert_eq!(before, env.snapshot_tree());
    let out = env
        .orch()
        .args(["docs", "fix", "--force"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let fixed = std::fs::read_to_string(&slop2).unwrap();
    assert!(fixed.contains("title: 'Event engine: subduction + rift'"));
    assert!(
        fixed.ends_with("A line not committed yet.\n"),
        "the uncommitted line stays"
    );
}

#[test]
fn project_limits_what_is_read_and_written() {
    let env = repo();
    let before = env.snapshot_tree();
    // OTHER-1 is sound; the side it lacks is in sloppy's SLOP-1, not touched from here.
    let out = env
        .orch()
        .args(["docs", "fix", "--project", "other"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to repair in 1 docs"));
    assert_eq!(before, env.snapshot_tree());
    let out = env
        .orch()
        .args(["docs", "fix", "--project", "sloppy", "--dry-run"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("+blocked: [SLOP-2, OTHER-1]"));
}
