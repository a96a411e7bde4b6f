//! Problems as people read them: `path:line: error: message`, then the hint.

use crate::problem::{Problem, Severity};
use crate::style::Styler;
use std::fmt::Write;

pub fn render(problems: &[Problem], style: &Styler) -> String {
    let mut out = String::new();
    for p in problems {
        let label = match p.severity {
            Severity::Error => style.red("error"),
            Severity::Warning => style.yellow("warning"),
        };
        let _ = writeln!(out, "{}: {label}: {}", style.bold(&p.location()), p.message);
        if let Some(hint) = &p.hint {
            let _ = writeln!(out, "  {} {hint}", style.cyan("Hint:"));
        }
    }
    out
}

/// `2 errors, 1 warning`.
pub fn count(problems: &[Problem]) -> String {
    let errors = problems.iter().filter(|p| p.is_error()).count();
    let warnings = problems.len() - errors;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}
