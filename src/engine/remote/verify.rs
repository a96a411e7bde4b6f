//! Whether a runner's result can be trusted, in two pure steps. Before anything but the
//! result itself is fetched ([`named`]): it is the result of this run's issue, started from
//! the commit it was given, and it names only this issue's refs (its branch, pins under its
//! run's prefix), each with an object id. After they are fetched ([`matches`]): every ref it
//! names is what the remote holds under that name, and its head descends from its base. A
//! refusal says what did not match; nothing a runner wrote is trusted to be well-formed.

use serde_json::Value;
use std::collections::BTreeMap;

/// What was asked of the runner.
pub(super) struct Asked<'a> {
    pub run_id: &'a str,
    pub issue: &'a str,
    pub base: &'a str,
    /// The issue's branch.
    pub branch: &'a str,
    /// Where its pins may be (`refs/orch/runs/<run>/<issue>/`, its rescue refs).
    pub pins: &'a [String],
}

/// What was fetched: the refs by their name on the remote, and whether the head the
/// result names descends from the base.
#[derive(Clone, Copy)]
pub(super) struct Fetched<'a> {
    pub refs: &'a BTreeMap<String, String>,
    pub head_on_base: bool,
}

/// The refs `provenance` names (to fetch), when it is the result asked for and names only
/// what is the issue's; else why not.
pub(super) fn named(
    asked: &Asked,
    (provenance, summary): (&Value, &Value),
) -> Result<Vec<String>, String> {
    whose(asked, (provenance, summary))?;
    let held = match &provenance["held"] {
        Value::Null => false,
        Value::String(_) => true,
        other => return Err(format!("its `held` is {other}, not a reason")),
    };
    let head = match &provenance["head"] {
        Value::Null => None,
        Value::String(h) if is_oid(h) => Some(h.as_str()),
        other => {
            return Err(format!(
                "its head is {}, not a commit",
                shown(&other.to_string())
            ))
        }
    };
    if (held || head.is_none()) && summary["outcome"].as_str() == Some("completed") {
        return Err("it says the issue completed, but it names no branch head".to_owned());
    }
    if held {
        return Ok(Vec::new());
    }
    let mut names = Vec::new();
    if head.is_some() {
        let branch = provenance["branch"].as_str().unwrap_or_default();
        if branch != asked.branch {
            return Err(format!(
                "its branch is {}, not the issue's {}",
                shown(branch),
                asked.branch
            ));
        }
        names.push(format!("refs/heads/{}", asked.branch));
    }
    for (name, oid) in provenance["pins"].as_object().into_iter().flatten() {
        let ours = (asked.pins.iter()).any(|p| name.starts_with(p.as_str()));
        let well_formed = !name.contains("..") && name.bytes().all(|b| b.is_ascii_graphic());
        if !ours || !well_formed {
            return Err(format!(
                "it names {} as a pin of {}",
                shown(name),
                asked.issue
            ));
        }
        if !oid.as_str().is_some_and(is_oid) {
            return Err(format!(
                "its pin {name} is {}, not a commit",
                shown(&oid.to_string())
            ));
        }
        names.push(name.clone());
    }
    Ok(names)
}

/// `Ok` when the result is of the run and issue asked for, started from the base given.
fn whose(asked: &Asked, (provenance, summary): (&Value, &Value)) -> Result<(), String> {
    let text = |k: &str| provenance[k].as_str().unwrap_or_default();
    if summary["id"].as_str() != Some(asked.issue) {
        let theirs = summary["id"].as_str().unwrap_or("nothing");
        return Err(format!(
            "its summary is of {}, not of {}",
            shown(theirs),
            asked.issue
        ));
    }
    if text("run_id") != asked.run_id || text("issue") != asked.issue {
        return Err(format!(
            "it is the result of {} in run {}, not of {} in run {}",
            shown(text("issue")),
            shown(text("run_id")),
            asked.issue,
            asked.run_id
        ));
    }
    if text("base") != asked.base {
        return Err(format!(
            "it started from {}, not from {} as it was given",
            shown(text("base")),
            shown(asked.base)
        ));
    }
    Ok(())
}

/// `Ok` when every ref `provenance` names is what was fetched under that name, and its
/// head descends from the base; else why not.
pub(super) fn matches(asked: &Asked, provenance: &Value, fetched: &Fetched) -> Result<(), String> {
    if !provenance["held"].is_null() {
        return Ok(());
    }
    if let Some(head) = provenance["head"].as_str() {
        check(&format!("refs/heads/{}", asked.branch), head, fetched.refs)?;
        if !fetched.head_on_base {
            return Err(format!(
                "its head {} does not descend from {}",
                shown(head),
                shown(asked.base)
            ));
        }
    }
    for (name, oid) in provenance["pins"].as_object().into_iter().flatten() {
        check(name, oid.as_str().unwrap_or_default(), fetched.refs)?;
    }
    Ok(())
}

/// The remote's `name` is `oid`.
fn check(name: &str, oid: &str, refs: &BTreeMap<String, String>) -> Result<(), String> {
    match refs.get(name) {
        Some(there) if there == oid => Ok(()),
        Some(there) => Err(format!(
            "it names {} as {name}, but the remote has {} there",
            shown(oid),
            shown(there)
        )),
        None => Err(format!("it names {name}, which the remote does not have")),
    }
}

/// A full object id (SHA-1 or SHA-256, hex).
pub(super) fn is_oid(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A value from the result as a message shows it: an id shortened, anything else quoted
/// and cut (it may be anything).
fn shown(s: &str) -> String {
    if is_oid(s) {
        return s[..10].to_owned();
    }
    let cut: String = s.chars().take(40).collect();
    format!("{cut:?}")
}

#[cfg(test)]
mod tests;
