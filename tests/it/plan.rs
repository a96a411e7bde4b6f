//! `orch plan` on the sample docs tree: order, tie-breaks, output formats, JSON contract,
//! and how a milestone is named in a tree of projects.

use crate::support;
use support::{issue, TestEnv};

fn sample() -> TestEnv {
    let env = TestEnv::with_sample_docs();
    env.write("orch.toml", "worktree_root = \"/worktrees/shop\"\n");
    env
}

fn plan(env: &TestEnv, args: &[&str]) -> String {
    let out = env.orch().arg("plan").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn order(env: &TestEnv, milestone: &str) -> Vec<String> {
    let json: serde_json::Value = serde_json::from_str(&plan(env, &[milestone, "--json"])).unwrap();
    json["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn sample_milestones_are_ordered_topologically_with_natural_ties() {
    let env = sample();
    // Diamond LEDGER-1 → {LEDGER-2, LEDGER-10} → LEDGER-3; LEDGER-2 before LEDGER-10 (natural sort).
    assert_eq!(
        order(&env, "ledger-api/M1"),
        ["LEDGER-1", "LEDGER-2", "LEDGER-10", "LEDGER-3"]
    );
    // CONSOLE-3 waits on ledger-api's unfinished LEDGER-3: last.
    assert_eq!(
        order(&env, "web-console/M1"),
        ["CONSOLE-1", "CONSOLE-2", "CONSOLE-3"]
    );
    assert_eq!(order(&env, "ledger-api/M2"), ["LEDGER-4", "LEDGER-5"]);
    assert_eq!(order(&env, "web-console/M2"), ["CONSOLE-4", "CONSOLE-5"]);
}

#[test]
fn table_snapshot() {
    let env = sample();
    insta::assert_snapshot!("plan_m1_table", plan(&env, &["ledger-api/M1"]));
    insta::assert_snapshot!(
        "plan_web_m1_table",
        plan(&env, &["M1", "--project", "web-console"])
    );
    insta::assert_snapshot!("plan_m2_table", plan(&env, &["web-console/M2"]));
}

#[test]
fn mermaid_and_dot_snapshots() {
    let env = sample();
    insta::assert_snapshot!(
        "plan_m1_mermaid",
        plan(&env, &["web-console/M1", "--format", "mermaid"])
    );
    insta::assert_snapshot!(
        "plan_m2_dot",
        plan(&env, &["web-console/M2", "--format", "dot"])
    );
}

#[test]
fn json_contract() {
    let env = sample();
    let json: serde_json::Value =
        serde_json::from_str(&plan(&env, &["web-console/M1", "--json"])).unwrap();
    assert_eq!(json["project"], "web-console");
    assert_eq!(json["milestone"], "M1");
    assert_eq!(
        json["milestone_doc"],
        serde_json::json!({
            "path": "docs/projects/web-console/milestones/M1-billing-overview.md",
            "title": "Billing overview"
        })
    );
    assert_eq!(json["problems_elsewhere"], 0);
    let first = &json["issues"][0];
    assert_eq!(first["id"], "CONSOLE-1");
    assert_eq!(first["skipped"], true);
    assert_eq!(first["position"], 1);
    assert_eq!(first["state"], "done");
    let c3 = &json["issues"][2];
    assert_eq!(
        c3["dependencies"],
        serde_json::json!([
            {"kind": "in_milestone", "id": "CONSOLE-2"},
            {"kind": "pending", "id": "LEDGER-3", "project": "ledger-api", "milestone": "M1", "state": "planned"},
            {"kind": "satisfied", "id": "LEDGER-4", "project": "ledger-api", "milestone": "M2"},
        ])
    );
    let json: serde_json::Value =
        serde_json::from_str(&plan(&env, &["ledger-api/M1", "--json"])).unwrap();
    let l10 = &json["issues"][2];
    assert_eq!(l10["id"], "LEDGER-10");
    assert_eq!(l10["blocked_by"], serde_json::json!(["LEDGER-1"]));
    assert_eq!(
        l10["branch"],
        "orch/ledger-api/M1/LEDGER-10-backfill-historical-invoice-payments"
    );
    assert_eq!(l10["worktree"], "/worktrees/shop/ledger-api/M1/LEDGER-10");
    assert_eq!(
        l10["path"],
        "docs/projects/ledger-api/issues/LEDGER-10-backfill-invoices.md"
    );
    assert_eq!(l10["skipped"], false);
    assert_eq!(l10["phases"], serde_json::json!(["dev", "review", "fix"]));
    assert!(json["warnings"].as_array().unwrap().is_empty());
    insta::assert_json_snapshot!(
        "plan_m2_json",
        serde_json::from_str::<serde_json::Value>(&plan(&env, &["web-console/M2", "--json"]))
            .unwrap()
    );
}

#[test]
fn a_milestone_two_projects_have_must_be_picked() {
    let env = sample();
    let before = env.snapshot_tree();
    env.orch()
        .args(["plan", "M1"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "Error: milestone M1 exists in 2 projects: ledger-api, web-console",
        ))
        .stderr(predicates::str::contains(
            "Hint: pick one: `orch plan ledger-api/M1`, `orch plan web-console/M1`",
        ));
    env.orch()
        .args(["run", "M1", "--dry-run"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("`orch run ledger-api/M1`"));
    assert_eq!(before, env.snapshot_tree());
    // Named by project: the flag, the `<project>/` form, or orch.toml's `project`.
    let named = |args: &[&str]| -> Vec<String> {
        let out = plan(&env, &[args, &["--json"]].concat());
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        vec![
            json["project"].as_str().unwrap().to_owned(),
            json["issues"][0]["id"].as_str().unwrap().to_owned(),
        ]
    };
    assert_eq!(
        named(&["M1", "--project", "web-console"]),
        ["web-console", "CONSOLE-1"]
    );
    assert_eq!(named(&["ledger-api/M1"]), ["ledger-api", "LEDGER-1"]);
    env.write(
        "orch.toml",
        "worktree_root = \"/w\"\nproject = \"ledger-api\"\n",
    );
    assert_eq!(named(&["M1"]), ["ledger-api", "LEDGER-1"]);
    // The `<project>/` form wins over orch.toml's project.
    assert_eq!(named(&["web-console/M1"]), ["web-console", "CONSOLE-1"]);
    env.orch()
        .args(["plan", "ledger-api/M1", "--project", "web-console"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "names another project than `--project web-console`",
        ));
}

#[test]
fn pending_cross_milestone_dependency_orders_the_issue_last() {
    let env = TestEnv::new();
    env.doc("p", "a.md", issue("A-1", "M1", ""));
    env.doc("p", "b.md", issue("A-2", "M1", "blocked_by: [Z-1]\n"));
    env.doc("p", "c.md", issue("A-3", "M1", ""));
    env.doc("p", "d.md", issue("A-4", "M1", "blocked_by: [A-2]\n"));
    env.doc("p", "z.md", issue("Z-1", "M0", "blocked: [A-2]\n"));
    // A-2 waits on an unfinished issue of M0: after everything that does not need it.
    assert_eq!(order(&env, "M1"), ["A-1", "A-3", "A-2", "A-4"]);
    let out = env.orch().args(["plan", "M1"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stdout);
    assert!(
        stderr.contains(
            "`A-2` depends on `Z-1` of milestone p/M0, which is not done (state: planned)"
        ),
        "{stderr}"
    );
    // Once Z-1 is done the dependency is satisfied and the natural order returns.
    env.doc(
        "p",
        "z.md",
        issue("Z-1", "M0", "blocked: [A-2]\n").replace("planned", "done"),
    );
    assert_eq!(order(&env, "M1"), ["A-1", "A-2", "A-3", "A-4"]);
}

#[test]
fn unknown_dependency_falls_back_to_linear_order() {
    let env = TestEnv::new();
    env.doc("p", "a.md", issue("A-10", "M1", ""));
    env.doc("p", "b.md", issue("A-2", "M1", "blocked_by: [MISSING-1]\n"));
    env.doc("p", "c.md", issue("A-1", "M1", ""));
    assert_eq!(order(&env, "M1"), ["A-1", "A-2", "A-10"]);
}

#[test]
fn blocking_and_blocks_are_synonyms_of_blocked() {
    let env = TestEnv::new();
    env.write("docs/projects/p/milestones/M1.md", "# M1: One\n");
    env.doc("p", "a.md", issue("A-1", "M1", "blocked_by: [A-2, A-3]\n"));
    env.doc("p", "b.md", issue("A-2", "M1", "blocking: [A-1, A-3]\n"));
    env.doc(
        "p",
        "c.md",
        issue("A-3", "M1", "blocks: [A-1]\nblocked_by: [A-2]\n"),
    );
    env.doc("p", "d.md", issue("A-4", "M1", ""));
    assert_eq!(order(&env, "M1"), ["A-2", "A-3", "A-1", "A-4"]);
    let out = env.orch().arg("validate").output().unwrap();
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn hostile_ids_stay_inside_orch_refs_and_the_worktree_root() {
    let env = TestEnv::new();
    env.write("orch.toml", "worktree_root = \"/wt\"\n");
    let ids = [
        "-rf", "a b", "問題-7", "x.lock", "@{-1}", "~^:?*[", "HEAD", "1",
    ];
    for (i, id) in ids.iter().enumerate() {
        let yaml_id = serde_json::to_string(id).unwrap();
        env.doc(
            "p",
            &format!("{i}.md"),
            format!("---\nid: {yaml_id}\ntitle: \"../../{id} (!)\"\nmilestone: M1\n---\n"),
        );
    }
    let json: serde_json::Value = serde_json::from_str(&plan(&env, &["M1", "--json"])).unwrap();
    let issues = json["issues"].as_array().unwrap();
    assert_eq!(issues.len(), ids.len());
    let mut branches = std::collections::BTreeSet::new();
    for issue in issues {
        let branch = issue["branch"].as_str().unwrap();
        let worktree = std::path::Path::new(issue["worktree"].as_str().unwrap());
        assert!(branch.starts_with("orch/p/M1/"), "{branch}");
        assert_eq!(branch.split('/').count(), 4, "{branch}");
        // The real git is the oracle for ref-name validity.
        let ok = std::process::Command::new("git")
            .args(["check-ref-format", "--branch", branch])
            .output()
            .unwrap();
        assert!(ok.status.success(), "git rejects {branch}");
        assert_eq!(
            worktree.parent(),
            Some(std::path::Path::new("/wt/p/M1")),
            "{worktree:?}"
        );
        assert!(
            branches.insert(branch.to_owned()),
            "two issues share {branch}"
        );
    }
}

#[test]
fn unknown_milestone_lists_the_known_ones() {
    let env = sample();
    env.orch()
        .args(["plan", "M9"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "no issue doc has `milestone: M9`",
        ))
        .stderr(predicates::str::contains(
            "Hint: milestones found: ledger-api/M1, ledger-api/M2, web-console/M1, web-console/M2",
        ));
    env.orch()
        .args(["plan", "ledger-api/M9"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "project ledger-api has no milestone `M9`",
        ));
}

#[test]
fn docs_flag_and_docs_glob_choose_where_docs_are() {
    let env = TestEnv::new();
    env.write(
        "elsewhere/docs/projects/x/issues/a.md",
        issue("E-1", "M1", ""),
    );
    env.orch()
        .args(["plan", "M1", "--docs", "elsewhere"])
        .assert()
        .success()
        .stdout(predicates::str::contains("E-1"));
    env.write("tickets/a.md", issue("T-1", "M1", ""));
    env.write("orch.toml", "docs_glob = \"tickets/*.md\"\n");
    env.orch()
        .args(["plan", "M1"])
        .assert()
        .success()
        .stdout(predicates::str::contains("T-1"));
}

#[test]
fn a_linked_worktree_plans_the_main_checkout_s_paths() {
    // A relative worktree_root is the main checkout's, wherever orch is run from.
    let env = TestEnv::with_sample_docs();
    env.write("orch.toml", "worktree_root = \"../wt\"\n");
    env.git(&["add", "."]);
    env.git(&["commit", "-q", "-m", "docs"]);
    // Deeper than the main checkout, so `../wt` from it would be another directory.
    let linked = env.root().join("nested/linked");
    env.git(&["worktree", "add", "-q", linked.to_str().unwrap()]);
    let worktrees = |dir: &std::path::Path| -> Vec<String> {
        let out = env
            .orch()
            .arg("-C")
            .arg(dir)
            .args(["plan", "ledger-api/M1", "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        json["issues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["worktree"].as_str().unwrap().to_owned())
            .collect()
    };
    let from_main = worktrees(&env.repo);
    assert_eq!(worktrees(&linked), from_main);
    assert!(
        from_main[0].starts_with(&env.root().join("wt").display().to_string()),
        "{from_main:?}"
    );
}
