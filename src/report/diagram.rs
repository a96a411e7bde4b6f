//! The milestone DAG as Mermaid (renders on GitHub) or Graphviz DOT.

use crate::model::dag::Dependency;
use crate::model::plan::Plan;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Dependencies outside the milestone, drawn as extra dashed nodes.
fn external_nodes(plan: &Plan) -> BTreeMap<String, String> {
    let mut nodes = BTreeMap::new();
    for issue in &plan.issues {
        for dep in &issue.dependencies {
            if matches!(dep, Dependency::InMilestone { .. }) {
                continue;
            }
            let label = super::dependency_label(dep, plan.project.as_deref(), "");
            nodes.entry(dep.key()).or_insert(label);
        }
    }
    nodes
}

pub fn mermaid(plan: &Plan) -> String {
    let node_of: BTreeMap<&str, String> = plan
        .issues
        .iter()
        .map(|i| (i.id.as_str(), format!("n{}", i.position)))
        .collect();
    let external = external_nodes(plan);
    let ext_of: BTreeMap<&str, String> = external
        .keys()
        .enumerate()
        .map(|(k, id)| (id.as_str(), format!("x{}", k + 1)))
        .collect();
    let mut out = String::from("flowchart TD\n");
    for issue in &plan.issues {
        let label = format!("{}: {}", issue.id, issue.title);
        let _ = writeln!(out, "  n{}[\"{}\"]", issue.position, mermaid_escape(&label));
    }
    for (id, label) in &external {
        let _ = writeln!(
            out,
            "  {}([\"{}\"])",
            ext_of[id.as_str()],
            mermaid_escape(label)
        );
    }
    for issue in &plan.issues {
        for dep in &issue.dependencies {
            let to = &node_of[issue.id.as_str()];
            match dep {
                Dependency::InMilestone { id } => {
                    let _ = writeln!(out, "  {} --> {to}", node_of[id.as_str()]);
                }
                other => {
                    let _ = writeln!(out, "  {} -.-> {to}", ext_of[other.key().as_str()]);
                }
            }
        }
    }
    let skipped: Vec<String> = plan
        .issues
        .iter()
        .filter(|i| i.skipped)
        .map(|i| format!("n{}", i.position))
        .collect();
    out.push_str("  classDef skipped fill:#eeeeee,stroke:#999999,color:#666666\n");
    out.push_str("  classDef external fill:#ffffff,stroke:#999999,stroke-dasharray:4 3\n");
    if !skipped.is_empty() {
        let _ = writeln!(out, "  class {} skipped", skipped.join(","));
    }
    if !ext_of.is_empty() {
        let ids: Vec<&str> = ext_of.values().map(String::as_str).collect();
        let _ = writeln!(out, "  class {} external", ids.join(","));
    }
    out
}

/// Mermaid labels are double-quoted; quotes and markup become entity codes.
fn mermaid_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '#' => out.push_str("#35;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

pub fn dot(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "digraph \"{}\" {{",
        dot_escape(&plan.scope().to_string())
    );
    out.push_str("  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n");
    for issue in &plan.issues {
        let style = if issue.skipped {
            ", style=\"rounded,filled\", fillcolor=\"#eeeeee\", fontcolor=\"#666666\""
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  \"{}\" [label=\"{}\\n{}\"{style}];",
            dot_escape(&issue.id),
            dot_escape(&issue.id),
            dot_escape(&issue.title)
        );
    }
    for (id, label) in external_nodes(plan) {
        let _ = writeln!(
            out,
            "  \"{}\" [label=\"{}\", style=dashed];",
            dot_escape(&id),
            dot_escape(&label)
        );
    }
    for issue in &plan.issues {
        for dep in &issue.dependencies {
            let edge_style = if matches!(dep, Dependency::InMilestone { .. }) {
                ""
            } else {
                " [style=dashed]"
            };
            let _ = writeln!(
                out,
                "  \"{}\" -> \"{}\"{edge_style};",
                dot_escape(&dep.key()),
                dot_escape(&issue.id)
            );
        }
    }
    out.push_str("}\n");
    out
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace(['\n', '\r'], " ")
}
