//! Every kind of broken issue doc gets a precise message (file, line, what, how to fix)
//! and the right exit code, from `orch validate` and `orch plan` alike.

use crate::support;
use support::{issue, TestEnv};

struct Case {
    name: &'static str,
    /// Files to write next to a valid doc `OK-1` (milestone M1).
    files: Vec<(&'static str, Vec<u8>)>,
    /// `path:line: severity: message` fragments that must appear on stderr.
    expect: Vec<String>,
    /// A hint fragment that must appear.
    hint: &'static str,
    exit: i32,
    /// Whether `orch plan M1` refuses it too (a doc in no milestone cannot be M1's: there it
    /// is a warning).
    blocks_plan: bool,
}

fn doc_path(name: &str) -> String {
    format!("docs/projects/p/issues/{name}")
}

fn at(name: &str, line: Option<usize>, severity: &str, message: &str) -> String {
    match line {
        Some(l) => format!("{}:{l}: {severity}: {message}", doc_path(name)),
        None => format!("{}: {severity}: {message}", doc_path(name)),
    }
}

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

fn cases() -> Vec<Case> {
    let mut huge = b("---\nid: H-1\ntitle: huge\nmilestone: M1\n---\n");
    huge.resize(5 * 1024 * 1024, b'x');
    let mut non_utf8 = b("---\nid: U-1\ntitle: \"caf");
    non_utf8.extend_from_slice(&[0xE9, 0xFF]);
    non_utf8.extend_from_slice(b"\"\nmilestone: M1\n---\n");
    vec![
        Case {
            name: "no front matter",
            files: vec![("a.md", b("# Just a heading\n\nid: A-1\n"))],
            expect: vec![at(
                "a.md",
                Some(1),
                "error",
                "no front matter: line 1 is `# Just a heading`, expected `---`",
            )],
            hint: "must open on the very first line",
            exit: 1,
            blocks_plan: true,
        },
        Case {
            name: "unterminated front matter",
            files: vec![("a.md", b("---\nid: A-1\ntitle: t\nmilestone: M1\n\nbody\n"))],
            expect: vec![at(
                "a.md",
                Some(1),
                "error",
                "front matter opened with `---` is never closed",
            )],
            hint: "add a line with `---`",
            exit: 1,
            blocks_plan: true,
        },
        Case {
            name: "bad yaml",
            files: vec![(
                "a.md",
                b("---\nid: A-1\ntitle: Fix: the thing\nmilestone: M1\n---\n"),
            )],
            expect: vec![at(
                "a.md",
                Some(3),
                "error",
                "front matter is not valid YAML: mapping values are not allowed in this context",
            )],
            hint: "quote titles",
            exit: 1,
            blocks_plan: true,
        },
        Case {
            name: "tabs",
            files: vec![("a.md", b("---\nid: A-1\n\ttitle: t\nmilestone: M1\n---\n"))],
            expect: vec![at(
                "a.md",
                Some(3),
                "error",
                "front matter is not valid YAML: found a tab character",
            )],
            hint: "tabs are not allowed",
            exit: 1,
            blocks_plan: true,
        },
        Case {
            name: "blocked_by is a number",
            files: vec![("a.md", b(&issue("A-1", "M1", "blocked_by: 5\n")))],
            expect: vec![at(
                "a.md",
                Some(6),
                "error",
                "field `blocked_by` must be a list, found an integer",
            )],
            hint: "write it as `blocked_by: [PROJ-1, PROJ-2]`",
            exit: 1,
            blocks_plan: true,
        },
        Case {
            name: "title is a list",
            files: vec![(
                "a.md",
                b("---\nid: A-1\ntitle: [a, b]\nmilestone: M1\n---\n"),
            )],
            expect: vec![at(
                "a.md",
                Some(3),
                "error",
                "field `title` must be text, found a list",
            )],
            hint: "write it as `title:",
            exit: 1,
            blocks_plan: true,
        },
        Case {
            name: "list item of the wrong type",
            files: vec![(
                "a.md",
                b(&issue("A-1", "M1", "labels: [api, {nested: true}]\n")),
            )],
            expect: vec![at(
                "a.md",
                Some(6),
                "error",
                "field `labels` must be a list of text items, found a mapping",
            )],
            hint: "labels: [first, second]",
            exit: 1,
            blocks_plan: true,
        },
        Case {
            name: "missing id",
            files: vec![("a.md", b("---\ntitle: t\nmilestone: M1\n---\n"))],
            expect: vec![at(
                "a.md",
                Some(2),
                "error",
                "required field `id` is missing",
            )],
            hint: "add `id: PROJ-1`",
            exit: 1,
            blocks_plan: true,
        },
        Case {
            name: "missing milestone",
            files: vec![("a.md", b("---\nid: A-1\ntitle: t\n---\n"))],
            expect: vec![at(
                "a.md",
                Some(2),
                "error",
                "required field `milestone` is missing",
            )],
            hint: "add `milestone: M1`",
            exit: 1,
            blocks_plan: false,
        },
        Case {
            name: "missing title and empty id",
            files: vec![("a.md", b("---\nid: \"\"\nmilestone: M1\n---\n"))],
            expect: vec![
                at(
                    "a.md",
                    Some(2),
                    "error",
                    "required field `title` is missing",
                ),
                at("a.md", Some(2), "error", "field `id` value `` is empty"),
            ],
            hint: "add `title:",
            exit: 1,
            blocks_plan: true,
        },
        Case {
            name: "duplicate ids in a milestone",
            files: vec![("a.md", b(&issue("OK-1", "M1", "")))],
            expect: vec![at(
                "ok.md",
                Some(2),
                "error",
                &format!(
                    "duplicate id `OK-1` in milestone M1: also used by {}:2",
                    doc_path("a.md")
                ),
            )],
            hint: "give each issue of a milestone its own id",
            exit: 1,
            blocks_plan: true,
        },
        Case {
            name: "the same id in another milestone is no error",
            files: vec![("a.md", b(&issue("OK-1", "M2", "")))],
            expect: vec![],
            hint: "",
            exit: 0,
            blocks_plan: false,
        },
        Case {
            name: "duplicate key",
            files: vec![(
                "a.md",
                b("---\nid: A-1\ntitle: t\nid: A-2\nmilestone: M1\n---\n"),
            )],
            expect: vec![at(
                "a.md",
                Some(4),
                "error",
                "front matter is not valid YAML: duplicate entry with key \"id\"",
            )],
            hint: "each field may appear once",
            exit: 1,
            blocks_plan: true,
        },
        Case {
            name: "self dependency",
            files: vec![("a.md", b(&issue("A-1", "M1", "blocked_by: [A-1]\n")))],
            expect: vec![at(
                "a.md",
                Some(6),
                "error",
                "issue `A-1` lists itself in `blocked_by`",
            )],
            hint: "remove `A-1` from `blocked_by`",
            exit: 1,
            blocks_plan: true,
        },
        Case {
            name: "cycle of three",
            files: vec![
                (
                    "c1.md",
                    b(&issue("C-1", "M1", "blocked_by: [C-3]\nblocked: [C-2]\n")),
                ),
                (
                    "c2.md",
                    b(&issue("C-2", "M1", "blocked_by: [C-1]\nblocked: [C-3]\n")),
                ),
                (
                    "c3.md",
                    b(&issue("C-3", "M1", "blocked_by: [C-2]\nblocked: [C-1]\n")),
                ),
            ],
            expect: vec![at(
                "c1.md",
                Some(6),
                "error",
                "dependency cycle: C-1 → C-2 → C-3 → C-1",
            )],
            hint: "each issue blocks the next",
            exit: 1,
            blocks_plan: true,
        },
        Case {
            name: "unknown dependency is a warning",
            files: vec![("a.md", b(&issue("A-1", "M1", "blocked_by: [NOPE-9]\n")))],
            expect: vec![at(
                "a.md",
                Some(6),
                "warning",
                "`A-1` depends on `NOPE-9`, which no issue doc defines; that dependency is ignored",
            )],
            hint: "fix the id or add a doc for `NOPE-9`",
            exit: 0,
            blocks_plan: false,
        },
        Case {
            name: "path traversal id",
            files: vec![("a.md", b(&issue("../../etc/passwd", "M1", "")))],
            expect: vec![at(
                "a.md",
                Some(2),
                "error",
                "field `id` value `../../etc/passwd` contains a path separator",
            )],
            hint: "identifiers become branch and directory names",
            exit: 1,
            blocks_plan: true,
        },
        Case {
            name: "dot-dot milestone",
            files: vec![("a.md", b(&issue("A-1", "..", "")))],
            expect: vec![at(
                "a.md",
                Some(5),
                "error",
                "field `milestone` value `..` contains `..`",
            )],
            hint: "identifiers become branch and directory names",
            exit: 1,
            blocks_plan: true,
        },
        Case {
            name: "huge file",
            files: vec![("a.md", huge)],
            expect: vec![at(
                "a.md",
                None,
                "error",
                "file is larger than 4 MiB; not an issue doc",
            )],
            hint: "smaller than 4 MiB",
            exit: 1,
            blocks_plan: true,
        },
        Case {
            name: "non-UTF-8 bytes",
            files: vec![("a.md", non_utf8)],
            expect: vec![at(
                "a.md",
                Some(3),
                "error",
                "file is not valid UTF-8 (invalid byte at offset 23)",
            )],
            hint: "save the file as UTF-8",
            exit: 1,
            blocks_plan: true,
        },
        Case {
            name: "empty file: not an issue doc",
            files: vec![("a.md", Vec::new())],
            expect: vec![at(
                "a.md",
                None,
                "warning",
                "not an issue doc: empty file; ignored",
            )],
            hint: "an issue doc opens with a `---` front matter block",
            exit: 0,
            blocks_plan: false,
        },
        Case {
            name: "a checklist with no front matter: not an issue doc",
            files: vec![(
                "todo.md",
                b("# ISSUE: tidy the importer\n\n- [ ] read the old format\n---\n- [x] done\n"),
            )],
            expect: vec![at(
                "todo.md",
                None,
                "warning",
                "not an issue doc: no front matter; ignored",
            )],
            hint: "keep other notes outside the docs glob",
            exit: 0,
            blocks_plan: false,
        },
        Case {
            name: "front matter is a list",
            files: vec![("a.md", b("---\n- id: A-1\n---\n"))],
            expect: vec![at(
                "a.md",
                Some(2),
                "error",
                "front matter must be a mapping of fields, found a list",
            )],
            hint: "one `key: value` per line",
            exit: 1,
            blocks_plan: true,
        },
        Case {
            name: "one-sided edge is a warning",
            files: vec![("a.md", b(&issue("A-1", "M1", "blocked_by: [OK-1]\n")))],
            expect: vec![at(
                "a.md",
                Some(6),
                "warning",
                "`A-1` lists `OK-1` in `blocked_by`, but `OK-1` does not list `A-1` in `blocked`",
            )],
            hint: "add `A-1` to `blocked` in docs/projects/p/issues/ok.md",
            exit: 0,
            blocks_plan: false,
        },
        Case {
            name: "byte order mark is accepted",
            files: vec![(
                "a.md",
                [&[0xEF, 0xBB, 0xBF][..], issue("A-1", "M1", "").as_bytes()].concat(),
            )],
            expect: vec![],
            hint: "",
            exit: 0,
            blocks_plan: false,
        },
        Case {
            name: "several problems in several files at once",
            files: vec![
                (
                    "a.md",
                    b("---\ntitle: t\nmilestone: M1\nblocked_by: 5\n---\n"),
                ),
                ("b.md", b("no front matter\nid: B-1\n")),
            ],
            expect: vec![
                at("a.md", Some(2), "error", "required field `id` is missing"),
                at(
                    "a.md",
                    Some(4),
                    "error",
                    "field `blocked_by` must be a list, found an integer",
                ),
                at("b.md", Some(1), "error", "no front matter"),
            ],
            hint: "",
            exit: 1,
            blocks_plan: true,
        },
    ]
}

fn setup(case: &Case) -> TestEnv {
    let env = TestEnv::new();
    env.doc("p", "ok.md", issue("OK-1", "M1", ""));
    milestone_docs(&env);
    for (name, data) in &case.files {
        env.doc("p", name, data);
    }
    env
}

/// Milestone docs for M1 and M2 (without them, plan and validate warn).
fn milestone_docs(env: &TestEnv) {
    env.write(
        "docs/projects/p/milestones/M1.md",
        "# M1: First
",
    );
    env.write(
        "docs/projects/p/milestones/M2-second.md",
        "# M2: Second
",
    );
}

#[test]
fn validate_reports_each_bad_doc_precisely() {
    let cases = cases();
    assert!(cases.len() >= 15);
    let mut failures = Vec::new();
    for case in &cases {
        let env = setup(case);
        let out = env.orch().arg("validate").output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code();
        if code != Some(case.exit) {
            failures.push(format!(
                "[{}] exit {code:?}, want {}\n{stderr}",
                case.name, case.exit
            ));
        }
        for want in &case.expect {
            if !stderr.contains(want.as_str()) {
                failures.push(format!("[{}] missing `{want}` in:\n{stderr}", case.name));
            }
        }
        if !stderr.contains(&format!("Hint: {}", case.hint)) && !stderr.contains(case.hint) {
            failures.push(format!(
                "[{}] missing hint `{}` in:\n{stderr}",
                case.name, case.hint
            ));
        }
        if case.expect.is_empty() && !stderr.is_empty() {
            failures.push(format!("[{}] expected silence, got:\n{stderr}", case.name));
        }
        assert!(
            !stderr.contains("panicked"),
            "[{}] panic: {stderr}",
            case.name
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn plan_refuses_bad_docs_without_side_effects() {
    for case in cases().iter().filter(|c| c.blocks_plan) {
        let env = setup(case);
        env.write("orch.toml", "worktree_root = \"wt\"\n");
        let before = env.snapshot_tree();
        let out = env.orch().args(["plan", "M1"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "[{}] {stderr}", case.name);
        assert!(out.stdout.is_empty(), "[{}] printed a plan", case.name);
        assert!(
            stderr.contains("Error: cannot plan milestone p/M1"),
            "[{}] {stderr}",
            case.name
        );
        for want in &case.expect {
            assert!(
                stderr.contains(want.as_str()),
                "[{}] missing `{want}` in {stderr}",
                case.name
            );
        }
        assert_eq!(before, env.snapshot_tree(), "[{}] files changed", case.name);
    }
}

#[test]
fn json_report_lists_errors_with_locations() {
    let env = TestEnv::new();
    env.doc("p", "ok.md", issue("OK-1", "M1", ""));
    env.doc(
        "p",
        "a.md",
        "---\nid: A-1\ntitle: t\nmilestone: M1\nblocked_by: 5\n---\n",
    );
    let out = env.orch().args(["validate", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["files"], 2);
    assert_eq!(report["errors"][0]["path"], "docs/projects/p/issues/a.md");
    assert_eq!(report["errors"][0]["line"], 5);
    assert_eq!(report["errors"][0]["severity"], "error");
    assert!(report["errors"][0]["hint"]
        .as_str()
        .unwrap()
        .contains("blocked_by: ["));
}

#[test]
fn strict_turns_warnings_into_errors() {
    let env = TestEnv::new();
    milestone_docs(&env);
    env.doc("p", "a.md", issue("A-1", "M1", "blocked_by: [GONE-1]\n"));
    env.orch().arg("validate").assert().code(0);
    env.orch().args(["validate", "--strict"]).assert().code(1);
    env.orch().args(["plan", "M1"]).assert().code(0);
    env.orch()
        .args(["plan", "M1", "--strict"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "--strict: 1 warning treated as errors",
        ));
}
