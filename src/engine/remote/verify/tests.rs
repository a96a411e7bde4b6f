use super::*;
use serde_json::json;

const B0: &str = "b000000000000000000000000000000000000000";
const H1: &str = "1111111111111111111111111111111111111111";
const H2: &str = "2222222222222222222222222222222222222222";
const PIN: &str = "refs/orch/runs/R/A-1/01-dev";

fn asked(pins: &[String]) -> Asked<'_> {
    Asked {
        run_id: "R",
        issue: "A-1",
        base: B0,
        branch: "x/A-1",
        pins,
    }
}

fn good() -> Value {
    json!({"run_id": "R", "issue": "A-1", "base": B0, "branch": "x/A-1",
        "head": H2, "pins": {PIN: H1}, "held": null})
}

fn with(k: &str, v: Value) -> Value {
    let mut p = good();
    p[k] = v;
    p
}

#[test]
fn a_result_names_only_the_issues_refs_before_anything_is_fetched() {
    let pins = vec!["refs/orch/runs/R/A-1/".to_owned()];
    let asked = asked(&pins);
    let completed = json!({"id": "A-1", "outcome": "completed"});
    let blocked = json!({"id": "A-1", "outcome": "blocked"});
    let other = json!({"id": "A-9", "outcome": "completed"});
    type Case<'a> = (Value, &'a Value, Result<Vec<&'a str>, &'a str>);
    let cases: Vec<Case> = vec![
        (good(), &completed, Ok(vec!["refs/heads/x/A-1", PIN])),
        (
            with("issue", json!("A-2")),
            &completed,
            Err("not of A-1 in run R"),
        ),
        (
            with("run_id", json!("Q")),
            &completed,
            Err("not of A-1 in run R"),
        ),
        (
            with("base", json!("b9")),
            &completed,
            Err("not from b000000000"),
        ),
        // Another branch, HEAD, another issue's pins: never set here.
        (
            with("branch", json!("main")),
            &completed,
            Err("not the issue's x/A-1"),
        ),
        (
            with("pins", json!({"HEAD": H1})),
            &completed,
            Err("\"HEAD\" as a pin"),
        ),
        (
            with("pins", json!({"refs/orch/runs/R/A-2/01-dev": H1})),
            &completed,
            Err("as a pin of A-1"),
        ),
        (
            with("pins", json!({"refs/orch/runs/R/A-1/../../heads/main": H1})),
            &completed,
            Err("as a pin of A-1"),
        ),
        // Not ids: said without slicing them.
        (
            with("head", json!("aéééééééééé")),
            &completed,
            Err("not a commit"),
        ),
        (
            with("pins", json!({PIN: "forged"})),
            &completed,
            Err("not a commit"),
        ),
        (with("held", json!(false)), &completed, Err("not a reason")),
        // Completed, but nothing for its dependents to start from.
        (
            with("head", Value::Null),
            &completed,
            Err("names no branch head"),
        ),
        (
            with("held", json!("secrets")),
            &completed,
            Err("names no branch head"),
        ),
        // Held back (secrets): nothing of its commits was pushed, and it did not complete.
        (with("held", json!("secrets")), &blocked, Ok(vec![])),
        (good(), &other, Err("summary is of \"A-9\"")),
    ];
    for (provenance, summary, want) in cases {
        match (named(&asked, (&provenance, summary)), want) {
            (Ok(names), Ok(want)) => assert_eq!(names, want, "{provenance}"),
            (Err(why), Err(says)) => assert!(why.contains(says), "{why} / {says}"),
            (got, want) => panic!("{provenance}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn a_result_is_trusted_only_when_the_remote_holds_what_it_names() {
    let pins = vec!["refs/orch/runs/R/A-1/".to_owned()];
    let asked = asked(&pins);
    let refs: BTreeMap<String, String> = [("refs/heads/x/A-1", H2), (PIN, H1)]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let fetched = Fetched {
        refs: &refs,
        head_on_base: true,
    };
    let cases: Vec<(Value, bool, Option<&str>)> = vec![
        (good(), true, None),
        (with("head", json!(H1)), true, Some("as refs/heads/x/A-1")),
        (
            with("pins", json!({PIN: H2})),
            true,
            Some("the remote has 1111111111 there"),
        ),
        (
            with("pins", json!({"refs/orch/runs/R/A-1/02-review": H2})),
            true,
            Some("which the remote does not have"),
        ),
        (good(), false, Some("does not descend from b000000000")),
    ];
    for (provenance, on_base, refused) in cases {
        let fetched = Fetched {
            head_on_base: on_base,
            ..fetched
        };
        match (matches(&asked, &provenance, &fetched), refused) {
            (Ok(()), None) => {}
            (Err(why), Some(says)) => assert!(why.contains(says), "{why}"),
            (got, want) => panic!("{provenance}: got {got:?}, want {want:?}"),
        }
    }
}
