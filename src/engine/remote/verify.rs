//! Whether a runner's result can be trusted before anything of it is imported: it is the
//! result of this run's issue, started from the commit it was given, and every ref it names
//! (the branch's head, each pin) is what the remote holds under that name. A pure decision
//! on what was fetched; a refusal says what did not match.

use serde_json::Value;
use std::collections::BTreeMap;

/// What was asked of the runner.
pub(super) struct Asked<'a> {
    pub run_id: &'a str,
    pub issue: &'a str,
    pub base: &'a str,
}

/// What was fetched: the refs by their name on the remote, and whether the head the
/// result names descends from the base.
#[derive(Clone, Copy)]
pub(super) struct Fetched<'a> {
    pub refs: &'a BTreeMap<String, String>,
    pub head_on_base: bool,
}

/// `Ok` when `provenance` is the result asked for and matches what was fetched, else why not.
pub(super) fn verify(asked: &Asked, provenance: &Value, fetched: &Fetched) -> Result<(), String> {
    let text = |k: &str| provenance[k].as_str().unwrap_or_default();
    if text("run_id") != asked.run_id || text("issue") != asked.issue {
        return Err(format!(
            "it is the result of {} in run {}, not of {} in run {}",
            text("issue"),
            text("run_id"),
            asked.issue,
            asked.run_id
        ));
    }
    if text("base") != asked.base {
        return Err(format!(
            "it started from {}, not from {} as it was given",
            short(text("base")),
            short(asked.base)
        ));
    }
    let held = !provenance["held"].is_null();
    if held {
        return Ok(());
    }
    if let Some(head) = provenance["head"].as_str() {
        let branch = format!("refs/heads/{}", text("branch"));
        check(&branch, head, fetched.refs)?;
        if !fetched.head_on_base {
            return Err(format!(
                "its head {} does not descend from {}",
                short(head),
                short(asked.base)
            ));
        }
    }
    let pins = provenance["pins"].as_object();
    for (name, oid) in pins.into_iter().flatten() {
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
            short(oid),
            short(there)
        )),
        None => Err(format!("it names {name}, which the remote does not have")),
    }
}

fn short(oid: &str) -> &str {
    crate::model::naming::short_oid(oid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_result_is_trusted_only_when_it_is_the_one_asked_for_and_its_refs_match() {
        let asked = Asked {
            run_id: "R",
            issue: "A-1",
            base: "b0",
        };
        let good = json!({"run_id": "R", "issue": "A-1", "base": "b0", "branch": "x/A-1",
            "head": "h2", "pins": {"refs/orch/runs/R/A-1/01-dev": "h1"}, "held": null});
        let refs: BTreeMap<String, String> = [
            ("refs/heads/x/A-1", "h2"),
            ("refs/orch/runs/R/A-1/01-dev", "h1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let fetched = Fetched {
            refs: &refs,
            head_on_base: true,
        };
        let with = |k: &str, v: Value| {
            let mut p = good.clone();
            p[k] = v;
            p
        };
        let cases: Vec<(Value, bool, Option<&str>)> = vec![
            (good.clone(), true, None),
            (
                with("issue", json!("A-2")),
                true,
                Some("not of A-1 in run R"),
            ),
            (
                with("run_id", json!("Q")),
                true,
                Some("not of A-1 in run R"),
            ),
            (with("base", json!("b9")), true, Some("not from b0")),
            (
                with("head", json!("h9")),
                true,
                Some("h9 as refs/heads/x/A-1"),
            ),
            (
                with("pins", json!({"refs/orch/runs/R/A-1/01-dev": "forged"})),
                true,
                Some("the remote has h1 there"),
            ),
            (
                with("pins", json!({"refs/orch/runs/R/A-1/02-review": "h2"})),
                true,
                Some("which the remote does not have"),
            ),
            (good.clone(), false, Some("does not descend from b0")),
            // Held back (secrets): nothing of its commits was pushed to compare.
            (with("held", json!("secrets")), false, None),
        ];
        for (provenance, on_base, refused) in cases {
            let fetched = Fetched {
                head_on_base: on_base,
                ..fetched
            };
            match (verify(&asked, &provenance, &fetched), refused) {
                (Ok(()), None) => {}
                (Err(why), Some(says)) => assert!(why.contains(says), "{why}"),
                (got, want) => panic!("{provenance}: got {got:?}, want {want:?}"),
            }
        }
    }
}
