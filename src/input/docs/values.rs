//! What a front matter value is: identifiers and issue references checked for use in names,
//! scalars as text, kinds named for messages, and the user's own fields as JSON.

use serde_norway::Value;

/// Why an issue reference (`ID`, or `project/ID`) cannot be used, if it cannot.
pub fn check_reference(reference: &str) -> Result<(), &'static str> {
    match reference.split_once('/') {
        Some((project, id)) => {
            check_identifier(project).map_err(|_| "has an unusable project part")?;
            check_identifier(id).map_err(|_| "has an unusable id after the `/`")
        }
        None => check_identifier(reference),
    }
}

/// `(project, id)` of a reference: `("p", "X-1")` for `p/X-1`, `(None, "X-1")` for `X-1`.
pub fn split_reference(reference: &str) -> (Option<&str>, &str) {
    match reference.split_once('/') {
        Some((project, id)) => (Some(project), id),
        None => (None, reference),
    }
}

/// Why an identifier cannot be used, if it cannot.
pub fn check_identifier(id: &str) -> Result<(), &'static str> {
    if id.trim().is_empty() {
        return Err("is empty");
    }
    if id.chars().any(char::is_control) {
        return Err("contains control characters");
    }
    if id.contains(['/', '\\']) {
        return Err("contains a path separator");
    }
    if id.contains("..") {
        return Err("contains `..`");
    }
    if id.chars().count() > 100 {
        return Err("is longer than 100 characters");
    }
    Ok(())
}

pub(super) fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        Value::Tagged(t) => id_text(&t.value),
        _ => None,
    }
}

pub(super) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Tagged(t) => scalar_text(&t.value),
        _ => None,
    }
}

pub(super) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a decimal number",
        Value::Number(_) => "an integer",
        Value::String(_) => "text",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(t) => kind(&t.value),
    }
}

/// YAML → JSON for the user's own fields; non-text keys become their text form.
pub(super) fn yaml_to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                J::from(i)
            } else if let Some(u) = n.as_u64() {
                J::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(J::Null, J::Number)
            }
        }
        Value::String(s) => J::String(s.clone()),
        Value::Sequence(items) => J::Array(items.iter().map(yaml_to_json).collect()),
        Value::Mapping(m) => J::Object(
            m.iter()
                .map(|(k, v)| {
                    let key = scalar_text(k).unwrap_or_else(|| format!("{k:?}"));
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        Value::Tagged(t) => yaml_to_json(&t.value),
    }
}
