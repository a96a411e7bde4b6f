//! `orch work` end to end: one issue of a run worked in a fresh clone of the remote (as on a
//! CI runner), from the commit it is given, through the real codex; what it pushes back (the
//! branch, its pins, the result ref) and nothing else.

use crate::support::forge::{ForgeRepo, B1, B2};
use std::path::{Path, PathBuf};

/// A fresh clone of `forge`'s remote at `dir`, HEAD detached at `commit`.
fn runner_clone(forge: &ForgeRepo, dir: &str, commit: &str) -> PathBuf {
    let path = forge.run.env.root().join("runners").join(dir);
    let git = crate::support::real_git();
    let ok = std::process::Command::new(&git)
        .args(["clone", "-q"])
        .arg(&forge.remote)
        .arg(&path)
        .status()
        .unwrap();
    assert!(ok.success());
    for args in [
        vec![
            "fetch",
            "-q",
            "origin",
            "+refs/heads/*:refs/remotes/origin/*",
        ],
        vec!["checkout", "-q", "--detach", commit],
    ] {
        let ok = std::process::Command::new(&git)
            .current_dir(&path)
            .args(&args)
            .status()
            .unwrap();
        assert!(ok.success(), "{args:?}");
    }
    path
}

/// `git ARGS` on the bare remote, its output.
fn remote_git(remote: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(crate::support::real_git())
        .arg("--git-dir")
        .arg(remote)
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn orch_work_works_one_issue_on_a_fresh_clone_and_pushes_its_branch_pins_and_result_only() {
    let forge = ForgeRepo::stacked();
    let main = forge.run.env.git(&["rev-parse", "main"]).trim().to_owned();
    let work = |clone: &Path, issue: &str, base: &str| {
        let out = forge
            .run
            .orch()
            .current_dir(clone)
            .args([
                "work", "p/M1", "--issue", issue, "--run", "R-7", "--base", base,
            ])
            .output()
            .unwrap();
        let said = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), said)
    };

    // HEAD must be at the commit it is given (the docs are read from the checkout).
    let elsewhere = runner_clone(&forge, "elsewhere", &main);
    std::fs::write(elsewhere.join("extra.txt"), "x").unwrap();
    let commit = |dir: &Path| {
        for args in [&["add", "extra.txt"][..], &["commit", "-q", "-m", "extra"]] {
            let ok = std::process::Command::new(crate::support::real_git())
                .current_dir(dir)
                .args(args)
                .status()
                .unwrap();
            assert!(ok.success());
        }
    };
    commit(&elsewhere);
    let (code, said) = work(&elsewhere, "A-1", &main);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("not at the commit the issue starts from"),
        "{said}"
    );

    // A-1 from main, on a clone with a detached HEAD and no local trunk.
    let first = runner_clone(&forge, "one", &main);
    let (code, said) = work(&first, "A-1", &main);
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains("delivered: refs/orch/results/R-7/A-1"),
        "{said}"
    );
    let a1 = forge.remote_tip(B1).expect("A-1's branch is pushed");
    let subjects = remote_git(
        &forge.remote,
        &["log", "--format=%s", &format!("{main}..{a1}")],
    );
    assert_eq!(subjects.trim(), "A-1: 01-dev");
    // The remote holds main, the branch, its pins and its result: nothing else.
    let refs = remote_git(
        &forge.remote,
        &["for-each-ref", "--format=%(refname) %(objectname)"],
    );
    let names: Vec<&str> = refs.lines().filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(
        names,
        [
            "refs/heads/main",
            &format!("refs/heads/{B1}"),
            "refs/orch/results/R-7/A-1",
            "refs/orch/runs/R-7/A-1/01-dev",
            "refs/orch/runs/R-7/A-1/02-review",
        ],
        "{refs}"
    );
    // The result: the summary, the record, the provenance and the logs.
    let result = "refs/orch/results/R-7/A-1";
    let files = remote_git(&forge.remote, &["ls-tree", "-r", "--name-only", result]);
    for file in [
        "summary.json",
        "record.json",
        "provenance.json",
        "logs/01-dev/prompt.md",
        "logs/01-dev/events.jsonl",
        "logs/02-review/result.json",
    ] {
        assert!(files.lines().any(|f| f == file), "{file}: {files}");
    }
    let json = |path: &str| -> serde_json::Value {
        serde_json::from_str(&remote_git(
            &forge.remote,
            &["show", &format!("{result}:{path}")],
        ))
        .unwrap()
    };
    assert_eq!(json("summary.json")["outcome"], "completed");
    assert_eq!(json("record.json")["id"], "A-1");
    let provenance = json("provenance.json");
    assert_eq!(provenance["head"], a1.as_str(), "{provenance}");
    assert_eq!(provenance["base"], main.as_str());
    assert_eq!(
        provenance["agents"]["codex"], "codex-cli 0.169.0",
        "{provenance}"
    );
    for pin in ["01-dev", "02-review"] {
        let name = format!("refs/orch/runs/R-7/A-1/{pin}");
        let pushed = remote_git(&forge.remote, &["rev-parse", &name]);
        assert_eq!(provenance["pins"][&name], pushed.trim(), "{provenance}");
    }

    // A-2, stacked on A-1, from A-1's pushed head, on another runner.
    let second = runner_clone(&forge, "two", &a1);
    let (code, said) = work(&second, "A-2", &a1);
    assert_eq!(code, Some(0), "{said}");
    let a2 = forge.remote_tip(B2).expect("A-2's branch is pushed");
    let parent = remote_git(&forge.remote, &["rev-parse", &format!("{a2}^")]);
    assert_eq!(parent.trim(), a1, "A-2 starts from the commit it was given");
    // No draft was opened from a runner: the dispatching orch submits.
    assert!(forge.github.pulls().is_empty());
}
