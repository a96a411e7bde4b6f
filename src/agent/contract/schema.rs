//! The schemas a phase's result must match: the dev-auto contract's shape in codex's strict
//! form (every object closed, every property required), built in from `schemas/`, or a
//! repository's own from `.orch/schemas/<phase>.schema.json`. An override is checked when
//! it is loaded: valid JSON Schema, strict, and still asking for the common fields and the
//! phase's `status` values, which orch reads; else the run is refused with the reason.

use crate::model::phase::PhaseKind;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a repository overrides a phase's schema.
pub const OVERRIDE_DIR: &str = ".orch/schemas";

/// Fields every result carries.
pub const COMMON: [&str; 7] = [
    "phase",
    "status",
    "issueId",
    "milestoneId",
    "branch",
    "worktreePath",
    "summary",
];

/// The `status` values of a phase, as orch acts on them.
pub fn statuses(kind: PhaseKind) -> &'static [&'static str] {
    match kind {
        PhaseKind::Dev | PhaseKind::Fix => &["pass", "failed", "deferred"],
        PhaseKind::Review => &["pass", "changes_required", "blocked"],
    }
}

/// The built-in schema of a phase (`schemas/<phase>.schema.json`).
pub fn builtin(kind: PhaseKind) -> &'static str {
    match kind {
        PhaseKind::Dev => include_str!("../../../schemas/dev.schema.json"),
        PhaseKind::Review => include_str!("../../../schemas/review.schema.json"),
        PhaseKind::Fix => include_str!("../../../schemas/fix.schema.json"),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct SchemaError {
    pub path: PathBuf,
    pub message: String,
}

/// One phase's schema and where it comes from.
#[derive(Debug, Clone)]
pub struct Schema {
    pub value: Arc<Value>,
    /// The override file, when it is not the built-in one.
    pub source: Option<PathBuf>,
}

/// The schemas of a run's three phases.
#[derive(Debug, Clone)]
pub struct Schemas {
    dev: Schema,
    review: Schema,
    fix: Schema,
}

impl Schemas {
    /// The built-in schemas.
    pub fn builtin() -> Schemas {
        let of = |kind| Schema {
            value: Arc::new(serde_json::from_str(builtin(kind)).expect("built-in schema is JSON")),
            source: None,
        };
        Schemas {
            dev: of(PhaseKind::Dev),
            review: of(PhaseKind::Review),
            fix: of(PhaseKind::Fix),
        }
    }

    /// The schemas of a repository: its overrides where it has them, checked, else built in.
    pub fn load(repo_root: &Path) -> Result<Schemas, SchemaError> {
        let mut schemas = Schemas::builtin();
        for kind in [PhaseKind::Dev, PhaseKind::Review, PhaseKind::Fix] {
            let path = repo_root
                .join(OVERRIDE_DIR)
                .join(format!("{}.schema.json", kind.name()));
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(SchemaError {
                        path,
                        message: format!("cannot read it: {e}"),
                    })
                }
            };
            let value: Value = serde_json::from_str(&text).map_err(|e| SchemaError {
                path: path.clone(),
                message: format!("line {}: not JSON: {e}", e.line()),
            })?;
            check(kind, &value).map_err(|message| SchemaError {
                path: path.clone(),
                message,
            })?;
            let schema = Schema {
                value: Arc::new(value),
                source: Some(path),
            };
            match kind {
                PhaseKind::Dev => schemas.dev = schema,
                PhaseKind::Review => schemas.review = schema,
                PhaseKind::Fix => schemas.fix = schema,
            }
        }
        // The contract's dev schema may serve both work phases (`phase: dev | fix`): with no
        // fix schema of its own, a fix phase gets it too.
        if schemas.fix.source.is_none()
            && schemas.dev.source.is_some()
            && phase_values(&schemas.dev.value).contains(&"fix")
        {
            schemas.fix = schemas.dev.clone();
        }
        Ok(schemas)
    }

    /// The schema of a fix the pull request's forge started: the fix schema, and `threads`
    /// (each review thread it was given, `addressed` with the commit or `declined` with the
    /// reason), in the same strict form.
    pub fn forge_fix(&self) -> Arc<Value> {
        let mut value = (*self.fix.value).clone();
        let threads = serde_json::json!({
            "type": "array",
            "description": "One entry per review thread in ORCH_CONTEXT's reviewComments",
            "items": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "threadId": {"type": "string", "description": "The thread's threadId"},
                    "status": {"type": "string", "enum": ["addressed", "declined"]},
                    "commit": {"type": "string", "description": "The commit that addressed it (\"\" when declined)"},
                    "reason": {"type": "string", "description": "What was done, or why it was declined"}
                },
                "required": ["threadId", "status", "commit", "reason"]
            }
        });
        if let Some(props) = value.get_mut("properties").and_then(Value::as_object_mut) {
            props.insert("threads".to_owned(), threads);
        }
        if let Some(required) = value.get_mut("required").and_then(Value::as_array_mut) {
            required.push(Value::String("threads".to_owned()));
        }
        Arc::new(value)
    }

    pub fn of(&self, kind: PhaseKind) -> &Schema {
        match kind {
            PhaseKind::Dev => &self.dev,
            PhaseKind::Review => &self.review,
            PhaseKind::Fix => &self.fix,
        }
    }
}

/// The `phase` values a schema allows (`dev`, or `dev` and `fix`).
fn phase_values(schema: &Value) -> Vec<&str> {
    schema
        .pointer("/properties/phase/enum")
        .and_then(Value::as_array)
        .map(|e| e.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Whether `schema` can stand for a phase's schema: a valid JSON Schema, in codex's strict
/// form, that still requires the common fields and the phase's `status` values.
pub fn check(kind: PhaseKind, schema: &Value) -> Result<(), String> {
    jsonschema::validator_for(schema).map_err(|e| format!("not a valid JSON Schema: {e}"))?;
    strict(schema, "")?;
    let props = schema
        .get("properties")
        .and_then(Value::as_object)
        .ok_or("the top level must be an object with `properties`")?;
    for field in COMMON {
        if !props.contains_key(field) {
            return Err(format!(
                "it must keep the common field `{field}` (every result has {})",
                COMMON.join(", ")
            ));
        }
    }
    let mut want: Vec<&str> = statuses(kind).to_vec();
    let mut got: Vec<&str> = props["status"]
        .get("enum")
        .and_then(Value::as_array)
        .map(|e| e.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    want.sort_unstable();
    got.sort_unstable();
    if got != want {
        return Err(format!(
            "`status` must be an enum of exactly {} (orch acts on each), found {}",
            statuses(kind).join(", "),
            if got.is_empty() {
                "none".to_owned()
            } else {
                got.join(", ")
            }
        ));
    }
    Ok(())
}

/// Codex's strict structured output: every object closed (`additionalProperties: false`)
/// and every property required.
fn strict(node: &Value, at: &str) -> Result<(), String> {
    match node {
        Value::Object(map) => {
            if map.get("type") == Some(&Value::from("object")) {
                let here = if at.is_empty() { "the top level" } else { at };
                if map.get("additionalProperties") != Some(&Value::Bool(false)) {
                    return Err(format!(
                        "{here}: strict mode needs `\"additionalProperties\": false`"
                    ));
                }
                let props: Vec<&str> = map
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|p| p.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                let required: Vec<&str> = map
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if let Some(missing) = props.iter().find(|p| !required.contains(p)) {
                    return Err(format!(
                        "{here}: strict mode needs every property required; `{missing}` is not"
                    ));
                }
            }
            for (k, v) in map {
                strict(v, &format!("{at}/{k}"))?;
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(|v| strict(v, at)),
        _ => Ok(()),
    }
}

/// Every way `value` does not match `schema`, each with where it is.
pub fn validate(schema: &Value, value: &Value) -> Result<(), Vec<String>> {
    let validator = match jsonschema::validator_for(schema) {
        Ok(v) => v,
        Err(e) => return Err(vec![format!("the schema is not valid: {e}")]),
    };
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| {
            let at = e.instance_path.to_string();
            if at.is_empty() {
                e.to_string()
            } else {
                format!("{at}: {e}")
            }
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_builtin_schemas_pass_their_own_check() {
        for kind in [PhaseKind::Dev, PhaseKind::Review, PhaseKind::Fix] {
            let schema: Value = serde_json::from_str(builtin(kind)).unwrap();
            check(kind, &schema).unwrap_or_else(|e| panic!("{}: {e}", kind.name()));
        }
    }

    #[test]
    fn an_override_is_checked_when_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let overrides = dir.path().join(OVERRIDE_DIR);
        std::fs::create_dir_all(&overrides).unwrap();
        let mut review: Value = serde_json::from_str(builtin(PhaseKind::Review)).unwrap();
        // A stricter confidence is fine.
        review["properties"]["confidence"]["enum"] = json!(["high"]);
        std::fs::write(overrides.join("review.schema.json"), review.to_string()).unwrap();
        let schemas = Schemas::load(dir.path()).unwrap();
        assert!(schemas.of(PhaseKind::Review).source.is_some());
        assert!(schemas.of(PhaseKind::Dev).source.is_none());

        let refused = |mutate: &dyn Fn(&mut Value)| {
            let mut v: Value = serde_json::from_str(builtin(PhaseKind::Dev)).unwrap();
            mutate(&mut v);
            std::fs::write(overrides.join("dev.schema.json"), v.to_string()).unwrap();
            Schemas::load(dir.path()).unwrap_err().to_string()
        };
        let e = refused(&|v| {
            v["properties"].as_object_mut().unwrap().remove("issueId");
            v["required"] = json!(v["properties"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>());
        });
        assert!(e.contains("must keep the common field `issueId`"), "{e}");
        let e = refused(&|v| v["properties"]["status"]["enum"] = json!(["pass", "failed"]));
        assert!(
            e.contains("`status` must be an enum of exactly pass, failed, deferred"),
            "{e}"
        );
        let e = refused(&|v| v["additionalProperties"] = json!(true));
        assert!(e.contains("the top level: strict mode"), "{e}");
        let e = refused(&|v| v["required"] = json!(["phase"]));
        assert!(e.contains("every property required"), "{e}");
        let e = refused(&|v| v["properties"]["testsRun"]["items"]["required"] = json!([]));
        assert!(e.contains("/properties/testsRun/items"), "{e}");
        let e = refused(&|v| v["type"] = json!(5));
        assert!(e.contains("not a valid JSON Schema"), "{e}");
        std::fs::write(overrides.join("dev.schema.json"), "{\n oops").unwrap();
        let e = Schemas::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("dev.schema.json: line 2: not JSON"), "{e}");
    }
}
