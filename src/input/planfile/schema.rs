//! `schemas/plan.schema.json` applied to a located tree, each violation rewritten as a
//! precise [`Problem`] at the line and column of the offending key or value.

use super::located::{pointer_segments, Node, Value as YValue};
use crate::model::problem::Problem;
use serde_json::Value;
use std::path::Path;

/// The contract, embedded.
pub const PLAN_SCHEMA: &str = include_str!("../../../schemas/plan.schema.json");

/// Which document a file is: the plan itself or an included task file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Plan,
    TaskFile,
}

fn schema_for(shape: Shape) -> Value {
    let plan: Value = serde_json::from_str(PLAN_SCHEMA).expect("embedded plan schema is JSON");
    match shape {
        Shape::Plan => plan,
        Shape::TaskFile => serde_json::json!({
            "$schema": plan["$schema"],
            "$defs": plan["$defs"],
            "$ref": "#/$defs/taskFile",
        }),
    }
}

/// Every schema violation of `tree` (the file at `path`).
pub fn check(tree: &Node, path: &Path, shape: Shape) -> Vec<Problem> {
    let mut out = Vec::new();
    // A task file that is a bare list reads as the plan's `tasks` in messages.
    let label = if shape == Shape::TaskFile && tree.as_seq().is_some() {
        "/tasks"
    } else {
        ""
    };
    let ctx = Ctx { tree, path, label };
    violations(&ctx, &schema_for(shape), &tree.to_json(), "", &mut out);
    out
}

/// The file being checked.
struct Ctx<'a> {
    tree: &'a Node,
    path: &'a Path,
    /// Pointer prefix used only when naming places in messages.
    label: &'a str,
}

impl Ctx<'_> {
    fn describe(&self, pointer: &str) -> String {
        describe(&format!("{}{pointer}", self.label))
    }
}

fn violations(ctx: &Ctx, schema: &Value, instance: &Value, base: &str, out: &mut Vec<Problem>) {
    let (tree, path) = (ctx.tree, ctx.path);
    let validator = jsonschema::validator_for(schema).expect("embedded plan schema is valid");
    for e in validator.iter_errors(instance) {
        let at = format!("{base}{}", e.instance_path.as_str());
        let rule = resolve(schema, e.schema_path.as_str());
        let node = nearest(tree, &at);
        let here = |message: String| {
            Problem::error(path, Some(node.pos.line), message).at_column(node.pos.col)
        };
        use jsonschema::error::ValidationErrorKind as K;
        match &e.kind {
            K::AdditionalProperties { unexpected } => {
                let known: Vec<&str> = rule
                    .and_then(|r| r.get("properties"))
                    .and_then(Value::as_object)
                    .map(|m| m.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                for key in unexpected {
                    let pos = node.entry(key).map_or(node.pos, |(k, _)| k.pos);
                    let mut message = format!("unknown key `{key}` in {}", ctx.describe(&at));
                    let mut problem = match closest(key, &known) {
                        Some(near) => {
                            message.push_str(&format!(" (did you mean `{near}`?)"));
                            Problem::error(path, Some(pos.line), message)
                        }
                        None => Problem::error(path, Some(pos.line), message),
                    };
                    problem = problem
                        .at_column(pos.col)
                        .with_hint(format!("known keys here: {}", known.join(", ")));
                    out.push(problem);
                }
            }
            K::Required { property } => {
                let key = property.as_str().unwrap_or_default();
                out.push(here(format!(
                    "missing key `{key}` in {}",
                    ctx.describe(&at)
                )));
            }
            K::Type { kind } => {
                let want = match kind {
                    jsonschema::error::TypeKind::Single(t) => type_name(&t.to_string()),
                    jsonschema::error::TypeKind::Multiple(set) => set
                        .iter()
                        .map(|t| type_name(&t.to_string()))
                        .collect::<Vec<_>>()
                        .join(" or "),
                };
                out.push(here(format!(
                    "wrong type for {}: expected {want}, found {}",
                    ctx.describe(&at),
                    found(node)
                )));
            }
            K::Enum { options } => {
                let allowed: Vec<String> = options
                    .as_array()
                    .map(|a| a.iter().map(show).collect())
                    .unwrap_or_default();
                let message = if at == "/version" && e.instance.is_number() {
                    format!(
                        "unsupported plan version {} (this orch reads version {})",
                        show(&e.instance),
                        allowed.join(", ")
                    )
                } else if at == "/version" {
                    format!(
                        "wrong type for `version`: expected the number {}, found {}",
                        allowed.join(", "),
                        found(node)
                    )
                } else {
                    format!(
                        "bad value {} for {}: expected one of {}",
                        show(&e.instance),
                        ctx.describe(&at),
                        allowed.join(", ")
                    )
                };
                out.push(here(message));
            }
            K::MinLength { .. } => {
                out.push(here(format!("{} must not be empty", ctx.describe(&at))));
            }
            K::AnyOf | K::OneOfNotValid => {
                any_of(ctx, schema, rule, &e.instance, &at, out);
            }
            _ => out.push(here(format!("{}: {e}", ctx.describe(&at)))),
        }
    }
}

/// An `anyOf` that failed: if exactly one alternative has the instance's type, its own
/// violations are the precise story; otherwise the instance has a type none accepts.
fn any_of(
    ctx: &Ctx,
    schema: &Value,
    rule: Option<&Value>,
    instance: &Value,
    at: &str,
    out: &mut Vec<Problem>,
) {
    let (tree, path) = (ctx.tree, ctx.path);
    let branches: Vec<&Value> = rule
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|b| deref(schema, b)).collect())
        .unwrap_or_default();
    let instance_type = json_type(instance);
    let matching: Vec<&Value> = branches
        .iter()
        .copied()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some(instance_type))
        .collect();
    if let [branch] = matching.as_slice() {
        let mut wrapper = (*branch).clone();
        if let (Some(obj), Some(defs)) = (wrapper.as_object_mut(), schema.get("$defs")) {
            obj.insert("$defs".into(), defs.clone());
        }
        violations(ctx, &wrapper, instance, at, out);
        return;
    }
    let want: Vec<String> = branches
        .iter()
        .filter_map(|b| b.get("type").and_then(Value::as_str))
        .map(type_name)
        .collect();
    let node = nearest(tree, at);
    out.push(
        Problem::error(
            path,
            Some(node.pos.line),
            format!(
                "wrong type for {}: expected {}, found {}",
                ctx.describe(at),
                want.join(" or "),
                found(node)
            ),
        )
        .at_column(node.pos.col),
    );
}

/// The schema node a keyword path points into (the object holding the failed keyword, or
/// for `anyOf` the list of alternatives), following `$ref`s on the way.
fn resolve<'a>(root: &'a Value, schema_path: &str) -> Option<&'a Value> {
    let segments = pointer_segments(schema_path);
    let Some((last, walk)) = segments.split_last() else {
        return Some(root);
    };
    let mut node = root;
    for seg in walk {
        node = if seg == "$ref" {
            deref(root, node)
        } else {
            match node {
                Value::Object(m) => m.get(seg)?,
                Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
                _ => return None,
            }
        };
    }
    let node = deref(root, node);
    if last == "anyOf" || last == "oneOf" {
        node.get(last.as_str())
    } else {
        Some(node)
    }
}

/// Follows a local `$ref` (`#/$defs/x`), if the node is one.
fn deref<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    let mut node = node;
    for _ in 0..16 {
        match node.get("$ref").and_then(Value::as_str) {
            Some(r) => match r.strip_prefix('#').and_then(|p| root.pointer(p)) {
                Some(target) => node = target,
                None => break,
            },
            None => break,
        }
    }
    node
}

/// The deepest node of the tree on the way to `pointer`.
fn nearest<'a>(tree: &'a Node, pointer: &str) -> &'a Node {
    let mut node = tree;
    for seg in pointer_segments(pointer) {
        let next = match &node.value {
            YValue::Seq(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
            YValue::Map(_) => node.get(&seg),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => break,
        }
    }
    node
}

/// `/tasks/0/constraints` → `` `tasks[0].constraints` ``; the root is "the file".
pub fn describe(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer_segments(pointer) {
        if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    if out.is_empty() {
        "the top level".to_owned()
    } else {
        format!("`{out}`")
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_name(t: &str) -> String {
    match t {
        "array" => "a list",
        "object" => "a map",
        "string" => "text",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "true or false",
        "null" => "nothing",
        other => other,
    }
    .to_owned()
}

fn found(node: &Node) -> String {
    match &node.value {
        YValue::Str(s) => format!("text `{s}`"),
        YValue::Int(n) => format!("the number {n}"),
        YValue::Float(f) => format!("the number {f}"),
        YValue::Bool(b) => format!("`{b}`"),
        YValue::Null => "nothing".to_owned(),
        other => super::located::kind_of(other).to_owned(),
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("`{s}`"),
        other => other.to_string(),
    }
}

pub use crate::util::spelling::closest;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_read_as_dotted_paths() {
        assert_eq!(describe("/tasks/0/constraints"), "`tasks[0].constraints`");
        assert_eq!(describe(""), "the top level");
    }
}
