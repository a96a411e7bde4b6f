//! An issue's pull request in one line, for `orch status`, TASKS.md and `orch report`: its
//! number and URL, where it merges, and what the watch saw or how it ended.

use crate::model::forge::WatchRecord;
use crate::model::state::IssueState;

/// `PR #2 into orch/p/M1/A-1…: green (1 check(s) pass, no open thread); 1 fix — <url>`,
/// or `None` when orch opened none for it.
pub fn line(issue: &IssueState) -> Option<String> {
    let pull = issue.summary.as_ref()?.pull.as_ref()?;
    let watch = match &issue.forge {
        None => "not watched (`orch watch`)".to_owned(),
        Some(w) => watched(w),
    };
    Some(format!(
        "PR #{} into {}: {watch} — {}",
        pull.number, pull.base, pull.url
    ))
}

fn watched(w: &WatchRecord) -> String {
    let fixes = match w.cycles {
        0 => String::new(),
        1 => "; 1 fix".to_owned(),
        n => format!("; {n} fixes"),
    };
    if let Some(outcome) = w.outcome {
        let why = w
            .reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        return format!("{}{why}{fixes}", outcome.name());
    }
    if let Some(fixing) = &w.fixing {
        return format!(
            "fixing in {:02}-fix: {}{fixes}",
            fixing.seq,
            fixing.feedback.headline()
        );
    }
    let Some(last) = &w.last else {
        return format!("watching{fixes}");
    };
    let checks: Vec<String> = (last.checks.iter())
        .map(|(name, state)| format!("{name} {state}"))
        .collect();
    let checks = match checks.is_empty() {
        true => "no check yet".to_owned(),
        false => checks.join(", "),
    };
    let threads = match last.open_threads {
        0 => String::new(),
        n => format!(", {n} open thread(s)"),
    };
    format!("watching: {checks}{threads}{fixes}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::forge::{Sighting, WatchOutcome};

    #[test]
    fn the_watch_reads_in_one_line() {
        let mut w = WatchRecord::default();
        assert_eq!(watched(&w), "watching");
        w.last = Some(Sighting {
            head: "h".into(),
            checks: vec![("test".into(), "pending".into())],
            open_threads: 2,
        });
        w.cycles = 1;
        assert_eq!(
            watched(&w),
            "watching: test pending, 2 open thread(s); 1 fix"
        );
        w.outcome = Some(WatchOutcome::Green);
        w.reason = Some("1 check(s) pass, no open thread".into());
        assert_eq!(
            watched(&w),
            "green (1 check(s) pass, no open thread); 1 fix"
        );
    }
}
