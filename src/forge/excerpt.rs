//! A bounded excerpt of a CI log around its first error: what a fix phase gets instead of
//! "CI is failing". GitHub Actions prefixes each line with a timestamp, which goes.

use regex::Regex;
use std::sync::OnceLock;

/// Lines kept before the first error line, and in all.
const BEFORE: usize = 15;
const LINES: usize = 80;
/// Characters kept in all, and of one line (a minified line must not blow the prompt up).
const CHARS: usize = 8_000;
const LINE_CHARS: usize = 1_000;

/// The excerpt of `log`: from a few lines before its first error line, else its tail.
pub fn excerpt(log: &str) -> String {
    let lines: Vec<&str> = log.lines().map(strip_timestamp).collect();
    let first_error = lines.iter().position(|l| error_line().is_match(l));
    let start = match first_error {
        Some(i) => i.saturating_sub(BEFORE),
        None => lines.len().saturating_sub(LINES),
    };
    let end = (start + LINES).min(lines.len());
    let mut out = String::new();
    if start > 0 {
        out.push_str(&format!("[… {start} line(s) before]\n"));
    }
    let mut chars = 0;
    for line in &lines[start..end] {
        let line = match line.char_indices().nth(LINE_CHARS) {
            Some((i, _)) => format!("{}…", &line[..i]),
            None => (*line).to_owned(),
        };
        chars += line.chars().count() + 1;
        if chars > CHARS {
            out.push_str("[… cut]\n");
            return out;
        }
        out.push_str(&line);
        out.push('\n');
    }
    if end < lines.len() {
        out.push_str(&format!("[… {} line(s) after]\n", lines.len() - end));
    }
    out
}

fn strip_timestamp(line: &str) -> &str {
    static TS: OnceLock<Regex> = OnceLock::new();
    let ts = TS.get_or_init(|| {
        Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ").expect("valid regex")
    });
    match ts.find(line) {
        Some(m) => &line[m.end()..],
        None => line,
    }
}

fn error_line() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)(^##\[error\]|\berror(\[E\d+\])?:|\bFAILED\b|\bfailures?:|panicked at|\bTraceback\b|\bAssertionError\b|npm ERR!|\bexit code [1-9])",
        )
        .expect("valid regex")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_excerpt_opens_before_the_first_error_without_timestamps() {
        let mut log = String::new();
        for i in 0..100 {
            log.push_str(&format!(
                "2026-12-07T10:00:{:02}.1234567Z step {i}\n",
                i % 60
            ));
        }
        log.push_str("2026-12-07T10:01:40.0000000Z error[E0308]: mismatched types\n");
        for i in 0..200 {
            log.push_str(&format!("after {i}\n"));
        }
        let out = excerpt(&log);
        assert!(out.starts_with("[… 85 line(s) before]\nstep 85\n"), "{out}");
        assert!(out.contains("error[E0308]: mismatched types"));
        assert!(!out.contains("2026-12-07T"));
        assert!(out.trim_end().ends_with("line(s) after]"));
        assert!(out.lines().count() <= LINES + 2);
    }

    #[test]
    fn without_an_error_line_the_tail_is_kept_and_long_lines_are_bounded() {
        let log: String = (0..10).map(|i| format!("line {i}\n")).collect();
        assert_eq!(excerpt(&log), log);
        let huge = format!("error: {}\n", "x".repeat(50_000));
        let out = excerpt(&format!("ok\n{huge}"));
        assert!(out.starts_with("ok\nerror: xxx") && out.chars().count() < LINE_CHARS + 10);
        let many = format!(
            "error: start\n{}",
            format!("{}\n", "y".repeat(900)).repeat(70)
        );
        let out = excerpt(&many);
        assert!(out.chars().count() < CHARS + 20 && out.ends_with("[… cut]\n"));
    }
}
