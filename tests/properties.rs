//! Property tests: no input makes orch panic, and every order it produces respects every edge.

use orch::docs::{issue, DocSet};
use orch::{dag, naming};
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
        let index = orch::docs::index::DocIndex::new(&set.docs);
        let scope = naming::Scope::new(None, "M");
        match dag::order_milestone(&set, &index, &scope, &Default::default()) {
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
