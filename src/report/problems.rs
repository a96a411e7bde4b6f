//! Problems as people read them: `path:line: error: message`, then the hint.

use crate::model::problem::{Problem, Severity};
use crate::report::style::Styler;
use std::fmt::Write;

fn label(severity: Severity, style: &Styler) -> String {
    match severity {
        Severity::Error => style.red("error"),
        Severity::Warning => style.yellow("warning"),
        Severity::Info => style.cyan("info"),
    }
}

pub fn render(problems: &[Problem], style: &Styler) -> String {
    let mut out = String::new();
    for p in problems {
        let label = label(p.severity, style);
        let _ = writeln!(out, "{}: {label}: {}", style.bold(&p.location()), p.message);
        if let Some(hint) = &p.hint {
            let _ = writeln!(out, "  {} {hint}", style.cyan("Hint:"));
        }
    }
    out
}

/// Problems a line each, without their hints (`path:line: warning: message`): what a run
/// says of its plan's warnings before it starts (`orch plan` shows them in full).
pub fn brief(problems: &[Problem], style: &Styler) -> String {
    let mut out = String::new();
    for p in problems {
        let label = label(p.severity, style);
        let _ = writeln!(out, "{}: {label}: {}", p.location(), p.message);
    }
    out
}

/// `2 errors, 1 warning` (and `, 3 info` when there is any).
pub fn count(problems: &[Problem]) -> String {
    let of = |s: Severity| problems.iter().filter(|p| p.severity == s).count();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let mut out = format!(
        "{}, {}",
        plural(of(Severity::Error), "error"),
        plural(of(Severity::Warning), "warning")
    );
    let info = of(Severity::Info);
    if info > 0 {
        out.push_str(&format!(", {info} info"));
    }
    out
}
