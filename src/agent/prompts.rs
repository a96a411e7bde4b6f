//! The autonomous phase prompts: embedded in the binary, overridable per repository with
//! `.orch/prompts/<name>.md`, rendered from explicit inputs only.
//!
//! Templates use `{{name}}` for inputs and `{{> name}}` to include another prompt (the
//! shared `autonomous-development` rules). A placeholder with no input is an error: nothing
//! is inferred. A prompt file written for the dev-auto contract may open with YAML front
//! matter (`description`, `argument-hint`: stripped) and take its whole input as
//! `$ARGUMENTS` (the [`ARGUMENTS`] input).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Every prompt orch knows, with its embedded text.
pub const PROMPTS: &[(&str, &str)] = &[
    (
        "autonomous-development",
        include_str!("../../prompts/autonomous-development.md"),
    ),
    (
        "dev-auto-parallel",
        include_str!("../../prompts/dev-auto-parallel.md"),
    ),
    (
        "dev-auto-review-linear",
        include_str!("../../prompts/dev-auto-review-linear.md"),
    ),
    (
        "dev-auto-fix-review",
        include_str!("../../prompts/dev-auto-fix-review.md"),
    ),
];

/// Where a repository overrides prompts.
pub const OVERRIDE_DIR: &str = ".orch/prompts";

/// The input a template's `$ARGUMENTS` stands for.
pub const ARGUMENTS: &str = "$ARGUMENTS";

#[derive(Debug, Error)]
pub enum PromptError {
    #[error("unknown prompt `{0}`")]
    Unknown(String),
    #[error(transparent)]
    Io(#[from] crate::util::fsutil::IoError),
    #[error("prompt `{prompt}` uses `{{{{{name}}}}}`, but no such input is given")]
    MissingInput { prompt: String, name: String },
    #[error("prompt `{prompt}` has an unclosed `{{{{`")]
    Unclosed { prompt: String },
    #[error("prompt `{prompt}` includes itself (through `{name}`)")]
    Recursive { prompt: String, name: String },
}

/// One prompt file of an export: its path, and whether it was written (else it existed and
/// was kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    pub path: PathBuf,
    pub written: bool,
}

/// Writes every built-in prompt to `<repo_root>/.orch/prompts/<name>.md`, never overwriting
/// a file that exists.
pub fn export(repo_root: &Path) -> Result<Vec<Exported>, PromptError> {
    use std::io::Write;
    let dir = repo_root.join(OVERRIDE_DIR);
    std::fs::create_dir_all(&dir).map_err(|source| {
        PromptError::Io(crate::util::fsutil::IoError {
            action: "write prompt",
            path: dir.clone(),
            source,
        })
    })?;
    let mut out = Vec::new();
    for (name, text) in PROMPTS {
        let path = dir.join(format!("{name}.md"));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path);
        let written = match file {
            Ok(mut f) => {
                f.write_all(text.as_bytes()).map_err(|source| {
                    PromptError::Io(crate::util::fsutil::IoError {
                        action: "write prompt",
                        path: path.clone(),
                        source,
                    })
                })?;
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
            Err(source) => {
                return Err(PromptError::Io(crate::util::fsutil::IoError {
                    action: "write prompt",
                    path,
                    source,
                }))
            }
        };
        out.push(Exported { path, written });
    }
    Ok(out)
}

/// A prompt's text: the repository's override if it has one, else the embedded one.
pub fn source(repo_root: &Path, name: &str) -> Result<(String, Option<PathBuf>), PromptError> {
    let embedded = PROMPTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .ok_or_else(|| PromptError::Unknown(name.to_owned()))?;
    let path = repo_root.join(OVERRIDE_DIR).join(format!("{name}.md"));
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok((text, Some(path))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((embedded.to_owned(), None)),
        Err(source) => Err(PromptError::Io(crate::util::fsutil::IoError {
            action: "read prompt override",
            path,
            source,
        })),
    }
}

/// Renders prompt `name` with `inputs`.
pub fn render(
    repo_root: &Path,
    name: &str,
    inputs: &BTreeMap<&str, String>,
) -> Result<String, PromptError> {
    Ok(render_tracked(repo_root, name, inputs)?.text)
}

/// A rendered prompt, and which inputs (and included prompts, as `> name`) its template used:
/// what a prompt file of the user's own leaves out is added after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    pub used: std::collections::BTreeSet<String>,
}

/// Renders prompt `name` with `inputs`, noting which inputs it used.
pub fn render_tracked(
    repo_root: &Path,
    name: &str,
    inputs: &BTreeMap<&str, String>,
) -> Result<Rendered, PromptError> {
    let mut used = std::collections::BTreeSet::new();
    let text = render_inner(repo_root, name, inputs, &mut Vec::new(), &mut used)?;
    Ok(Rendered { text, used })
}

fn render_inner(
    repo_root: &Path,
    name: &str,
    inputs: &BTreeMap<&str, String>,
    stack: &mut Vec<String>,
    used: &mut std::collections::BTreeSet<String>,
) -> Result<String, PromptError> {
    if stack.iter().any(|s| s == name) {
        return Err(PromptError::Recursive {
            prompt: stack[0].clone(),
            name: name.to_owned(),
        });
    }
    stack.push(name.to_owned());
    let (text, _) = source(repo_root, name)?;
    let text = without_front_matter(&text);
    let mut out = String::with_capacity(text.len() * 2);
    let mut rest = text;
    // Text of the template itself (never of an input) may say `$ARGUMENTS`.
    let literal = |out: &mut String,
                   used: &mut std::collections::BTreeSet<String>,
                   chunk: &str|
     -> Result<(), PromptError> {
        let mut parts = chunk.split(ARGUMENTS);
        out.push_str(parts.next().unwrap_or_default());
        for part in parts {
            used.insert(ARGUMENTS.to_owned());
            let value = inputs
                .get(ARGUMENTS)
                .ok_or_else(|| PromptError::MissingInput {
                    prompt: name.to_owned(),
                    name: ARGUMENTS.to_owned(),
                })?;
            out.push_str(value);
            out.push_str(part);
        }
        Ok(())
    };
    while let Some(open) = rest.find("{{") {
        literal(&mut out, used, &rest[..open])?;
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or_else(|| PromptError::Unclosed {
            prompt: name.to_owned(),
        })?;
        let tag = after[..close].trim();
        if let Some(include) = tag.strip_prefix('>') {
            used.insert(format!("> {}", include.trim()));
            let included = render_inner(repo_root, include.trim(), inputs, stack, used)?;
            out.push_str(included.trim_end());
        } else {
            used.insert(tag.to_owned());
            let value = inputs.get(tag).ok_or_else(|| PromptError::MissingInput {
                prompt: name.to_owned(),
                name: tag.to_owned(),
            })?;
            out.push_str(value);
        }
        rest = &after[close + 2..];
    }
    literal(&mut out, used, rest)?;
    stack.pop();
    Ok(out)
}

/// A prompt file's text after its YAML front matter, when it opens with one that reads as a
/// mapping (`description:`, `argument-hint:`); else all of it.
fn without_front_matter(text: &str) -> &str {
    match crate::input::docs::frontmatter::split(text) {
        Ok(split)
            if matches!(
                serde_norway::from_str::<serde_norway::Value>(split.yaml),
                Ok(serde_norway::Value::Mapping(_))
            ) =>
        {
            split.body.trim_start_matches(['\r', '\n'])
        }
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> BTreeMap<&'static str, String> {
        [
            "issueId",
            "issueDocPath",
            "milestoneId",
            "milestoneDocPath",
            "branchName",
            "worktreePath",
            "maxReviewCycles",
            "reviewCycle",
            "projectId",
            "phase",
            "priorFixSummary",
            "reviewResult",
            "issue_id",
            "issue_title",
            "issue_path",
            "issue_body",
            "milestone",
            "milestone_doc",
            "branch",
            "worktree",
            "base_commit",
            "phase_key",
            "cycle",
            "review_result",
            "task_context",
            "submit_rules",
            "review_doc_rules",
            ARGUMENTS,
        ]
        .into_iter()
        .map(|k| (k, format!("<{k}>")))
        .collect()
    }

    #[test]
    fn every_prompt_renders_with_the_shared_rules() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "dev-auto-parallel",
            "dev-auto-review-linear",
            "dev-auto-fix-review",
        ] {
            let text = render(dir.path(), name, &inputs()).unwrap();
            assert!(text.contains("## Rules for autonomous work"), "{name}");
            assert!(text.contains("orch-phase-key: <phase_key>"), "{name}");
            assert!(!text.contains("{{"), "{name}");
        }
    }

    #[test]
    fn missing_inputs_and_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let mut few = inputs();
        few.remove("branchName");
        let err = render(dir.path(), "dev-auto-parallel", &few)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "prompt `dev-auto-parallel` uses `{{branchName}}`, but no such input is given"
        );
        std::fs::create_dir_all(dir.path().join(OVERRIDE_DIR)).unwrap();
        std::fs::write(
            dir.path().join(OVERRIDE_DIR).join("dev-auto-parallel.md"),
            "Custom {{issue_id}}",
        )
        .unwrap();
        assert_eq!(
            render(dir.path(), "dev-auto-parallel", &inputs()).unwrap(),
            "Custom <issue_id>"
        );
    }

    #[test]
    fn a_contract_prompt_file_loses_its_front_matter_and_gets_its_arguments() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(OVERRIDE_DIR)).unwrap();
        std::fs::write(
            dir.path()
                .join(OVERRIDE_DIR)
                .join("dev-auto-review-linear.md"),
            "---\ndescription: Review one issue\nargument-hint: <ORCH_CONTEXT>\n---\n\n\
             Review {{issueId}} ($ARGUMENTS is all you get).\n\n$ARGUMENTS\n",
        )
        .unwrap();
        let text = render(dir.path(), "dev-auto-review-linear", &inputs()).unwrap();
        assert_eq!(
            text,
            "Review <issueId> (<$ARGUMENTS> is all you get).\n\n<$ARGUMENTS>\n"
        );
        // A value that says `$ARGUMENTS` is left as it is.
        let mut odd = inputs();
        odd.insert("issueId", "$ARGUMENTS".to_owned());
        let text = render(dir.path(), "dev-auto-review-linear", &odd).unwrap();
        assert!(text.starts_with("Review $ARGUMENTS ("), "{text}");
    }
}
