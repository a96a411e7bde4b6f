//! Property tests: no input makes orch panic, and every order it produces respects every edge.

use orch::input::docs::fix::{self, Addition};
use orch::input::docs::{issue, DocSet};
use orch::model::naming;
use proptest::prelude::*;
use std::path::Path;

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = issue::parse(Path::new("x.md"), &bytes);
        let mut with_fence = b"---\n".to_vec();
        with_fence.extend_from_slice(&bytes);
        with_fence.extend_from_slice(b"\n---\n");
        let _ = issue::parse(Path::new("x.md"), &with_fence);
    }

    #[test]
    fn yaml_shaped_noise_never_panics(lines in proptest::collection::vec(yaml_line(), 0..12)) {
        let text = format!("---\n{}\n---\nbody\n", lines.join("\n"));
        if let Err(broken) = issue::parse(Path::new("x.md"), text.as_bytes()) {
            prop_assert!(!broken.problems.is_empty());
            for p in broken.problems {
                // YAML counts a lone CR as a line break too.
                let last = text.replace("\r\n", "\n").split(['\n', '\r']).count();
                prop_assert!(p.line.is_none_or(|l| l >= 1 && l <= last), "{p:?} beyond line {last}");
            }
        }
    }

    #[test]
    fn orders_respect_every_edge(edges in proptest::collection::vec((0usize..12, 0usize..12), 0..30)) {
        let docs: Vec<String> = (0..12)
            .map(|i| {
                let deps: Vec<String> = edges.iter().filter(|(a, b)| *a == i && a != b).map(|(_, b)| format!("T-{b}")).collect();
                format!("---\nid: T-{i}\ntitle: t{i}\nmilestone: M\nblocked_by: [{}]\n---\n", deps.join(", "))
            })
            .collect();
        let mut set = DocSet::default();
        for (i, text) in docs.iter().enumerate() {
            match issue::parse(Path::new(&format!("{i}.md")), text.as_bytes()) {
                Ok(doc) => set.docs.push(doc),
                Err(b) => set.broken.push(b),
            }
        }
        let index = orch::input::docs::index::DocIndex::new(&set.docs);
        let scope = naming::Scope::new(None, "M");
        match orch::input::docs::order::order_milestone(&set, &index, &scope, &Default::default()) {
            Ok(order) => {
                let pos: std::collections::HashMap<&str, usize> =
                    order.issues.iter().enumerate().map(|(i, o)| (o.doc.id.as_str(), i)).collect();
                for doc in &set.docs {
                    for dep in &doc.blocked_by {
                        prop_assert!(pos[dep.as_str()] < pos[doc.id.as_str()], "{dep} after {}", doc.id);
                    }
                }
            }
            Err(problems) => {
                prop_assert!(problems.iter().all(|p| p.message.starts_with("dependency cycle: ")));
                for p in &problems {
                    // The named cycle closes on itself.
                    let names: Vec<&str> = p.message["dependency cycle: ".len()..].split(" → ").collect();
                    prop_assert_eq!(names.first(), names.last());
                }
            }
        }
    }

    #[test]
    fn names_never_escape(
        project in proptest::option::of(".{0,20}"),
        milestone in ".{0,20}",
        id in ".{0,30}",
        title in ".{0,80}",
    ) {
        let scope = naming::Scope::new(project.as_deref(), &milestone);
        let depth = scope.components().len();
        let branch = naming::branch_name(&scope, &id, &title);
        prop_assert!(naming::is_valid_branch_name(&branch), "{branch:?}");
        prop_assert!(branch.starts_with("orch/"));
        prop_assert_eq!(branch.split('/').count(), 2 + depth);
        let root = Path::new("/wt");
        let path = naming::worktree_path(root, &scope, &id);
        prop_assert_eq!(path.components().count(), 3 + depth, "{:?}", path);
        prop_assert!(path.starts_with(root));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    /// `orch docs fix` changes exactly what its diff reports (the diff, applied to the
    /// original, is the fixed doc), never the body, and a second run changes nothing.
    #[test]
    fn docs_fix_changes_only_what_it_reports(
        (bytes, additions) in sloppy_doc(),
    ) {
        let fixed = fix::fix(&bytes, &additions);
        let original = String::from_utf8(bytes.clone()).unwrap();
        let diff = orch::report::patch::unified_diff(Path::new("d.md"), &fixed.ops);
        let applied = apply(&original, &diff);
        prop_assert_eq!(applied.as_bytes(), fixed.bytes.as_slice(), "diff:\n{}", diff);
        prop_assert_eq!(fixed.changed(), !diff.is_empty());
        let again = fix::fix(&fixed.bytes, &[]);
        prop_assert!(again.repairs.is_empty(), "second run: {:?} of {:?} (from {:?})", again.repairs, String::from_utf8_lossy(&fixed.bytes), (&original, &additions, &fixed.refused));
        prop_assert_eq!(&again.bytes, &fixed.bytes);
        // The body (from the line after the closing fence) is the same text.
        let fixed_text = String::from_utf8(fixed.bytes.clone()).unwrap();
        prop_assert_eq!(body_of(&fixed_text), body_of(&original));
    }
}

/// A doc with some of the defects `orch docs fix` repairs, and entries to add.
fn sloppy_doc() -> impl Strategy<Value = (Vec<u8>, Vec<Addition>)> {
    let title = prop_oneof![
        Just("Plain title".to_owned()),
        Just("Event engine: subduction + rift".to_owned()),
        Just("[WIP] it's: done".to_owned()),
        Just("\"quoted: fine\"".to_owned()),
        Just("a: b: c".to_owned()),
        Just("ends with a colon:".to_owned()),
        "[^\r\n]{0,24}",
    ];
    let list = prop_oneof![
        Just(None),
        Just(Some("[]".to_owned())),
        Just(Some("[A-2]".to_owned())),
        Just(Some("[A-2] # note".to_owned())),
        Just(Some("".to_owned())),
        Just(Some("null".to_owned())),
        Just(Some("\n  - A-2\n  - A-3".to_owned())),
        Just(Some("\n- A-2".to_owned())),
        Just(Some("[A-2,\n  A-3]".to_owned())),
    ];
    let key = prop_oneof![Just("blocked"), Just("blocking"), Just("blocks")];
    let extra = proptest::collection::vec(yaml_line(), 0..3);
    (
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        title,
        (key, list.clone(), list),
        extra,
        (any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |(
                (fence, crlf, bom, last_newline),
                title,
                (key, blocked, blocked_by),
                extra,
                (add_a, add_b),
            )| {
                let mut lines = vec![
                    "id: A-1".to_owned(),
                    format!("title: {title}"),
                    "milestone: M1".to_owned(),
                ];
                if let Some(v) = blocked {
                    lines.push(format!("{key}: {v}").replace(": \n", ":\n"));
                }
                if let Some(v) = blocked_by {
                    lines.push(format!("blocked_by: {v}").replace(": \n", ":\n"));
                }
                lines.extend(extra);
                let mut text = String::new();
                if bom {
                    text.push('\u{feff}');
                }
                if fence {
                    text.push_str("---\n");
                }
                text.push_str(&lines.join("\n"));
                text.push_str("\n---\n\nid: not: front matter\n- a body list\n---\nmore body");
                if last_newline {
                    text.push('\n');
                }
                if crlf {
                    text = text.replace('\n', "\r\n");
                }
                let mut additions = Vec::new();
                if add_a {
                    additions.push(Addition {
                        key: "blocked",
                        reference: "X-9".to_owned(),
                    });
                }
                if add_b {
                    additions.push(Addition {
                        key: "blocked_by",
                        reference: "other/Y-9".to_owned(),
                    });
                }
                (text.into_bytes(), additions)
            },
        )
}

/// What follows the front matter's closing fence (the whole text when there is none).
fn body_of(text: &str) -> String {
    let text = text.trim_start_matches('\u{feff}');
    let mut lines = text.split_inclusive('\n');
    let mut seen_open = false;
    let mut consumed = 0;
    for line in lines.by_ref() {
        consumed += line.len();
        let l = line.trim_end();
        if l == "---" || l == "..." {
            if seen_open || consumed > line.len() {
                return text[consumed..].to_owned();
            }
            seen_open = true;
        }
    }
    text.to_owned()
}

/// Applies a unified diff (as `orch docs fix` prints it) to `original`, checking every
/// context and removed line: a test's own patch, independent of the code under test.
fn apply(original: &str, diff: &str) -> String {
    let old: Vec<&str> = original.split_inclusive('\n').collect();
    let mut out = String::new();
    let mut pos = 0;
    let mut lines: Vec<String> = diff.split_inclusive('\n').map(str::to_owned).collect();
    // `\ No newline at end of file` takes the newline off the line before it.
    let mut i = 0;
    while i < lines.len() {
        if lines[i].starts_with("\\ No newline") {
            let prev = lines[i - 1].trim_end_matches('\n').to_owned();
            lines[i - 1] = prev;
            lines.remove(i);
        } else {
            i += 1;
        }
    }
    for line in lines.iter().skip(2) {
        if let Some(header) = line.strip_prefix("@@ -") {
            let start: usize = header.split([',', ' ']).next().unwrap().parse().unwrap();
            let count: usize = header.split([',', ' ']).nth(1).unwrap().parse().unwrap();
            let first = if count == 0 { start } else { start - 1 };
            while pos < first {
                out.push_str(old[pos]);
                pos += 1;
            }
            continue;
        }
        let (mark, content) = line.split_at(1);
        match mark {
            " " => {
                assert_eq!(old[pos], content, "context line {}", pos + 1);
                out.push_str(content);
                pos += 1;
            }
            "-" => {
                assert_eq!(old[pos], content, "removed line {}", pos + 1);
                pos += 1;
            }
            "+" => out.push_str(content),
            other => panic!("not a diff line: {other:?}{content:?}"),
        }
    }
    for rest in &old[pos..] {
        out.push_str(rest);
    }
    out
}

fn yaml_line() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("id".to_owned()),
        Just("title".to_owned()),
        Just("milestone".to_owned()),
        Just("blocked_by".to_owned()),
        Just("blocking".to_owned()),
        Just("state".to_owned()),
        "[a-z_]{1,8}",
    ];
    let value = prop_oneof![
        Just("[A-1, B-2]".to_owned()),
        Just("5".to_owned()),
        Just("~".to_owned()),
        Just("{a: [1, {b: c}]}".to_owned()),
        Just("&x [*x]".to_owned()),
        Just("!!binary aGVsbG8=".to_owned()),
        Just("\"unterminated".to_owned()),
        Just("|\n  block".to_owned()),
        ".{0,12}",
    ];
    let indent = prop_oneof![Just(""), Just("  "), Just("\t"), Just("- ")];
    (indent, key, value).prop_map(|(i, k, v)| format!("{i}{k}: {v}"))
}

/// Found by the property above: a lone CR is a YAML line break, so error lines may count it.
#[test]
fn lone_carriage_returns_keep_error_lines_in_the_file() {
    let text = "---\n- id: !!binary aGVsbG8=\n  title: ¡\r\ra\n---\nbody\n";
    let problems = issue::parse(Path::new("x.md"), text.as_bytes())
        .unwrap_err()
        .problems;
    let last = text.replace("\r\n", "\n").split(['\n', '\r']).count();
    assert!(
        problems.iter().all(|p| p.line.is_none_or(|l| l <= last)),
        "{problems:?}"
    );
}
