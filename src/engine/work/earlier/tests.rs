use super::*;
use crate::model::record::CommandRecord;
use serde_json::json;

const HEAD: &str = "1111111111111111111111111111111111111111";

fn provenance() -> Value {
    json!({"run_id": "R", "issue": "A-1", "base": "B", "head": HEAD, "held": null})
}

#[test]
fn an_earlier_result_is_gone_on_from_only_when_it_is_this_issues_and_its_branch_was_pushed() {
    let whose = ("R", "A-1", "B");
    let log = |rel: &str| vec![(rel.to_owned(), Vec::new())];
    let with = |k: &str, v: Value| {
        let mut p = provenance();
        p[k] = v;
        p
    };
    type Case<'a> = (
        Value,
        Vec<(String, Vec<u8>)>,
        Result<Option<&'a str>, &'a str>,
    );
    let cases: Vec<Case> = vec![
        (provenance(), log("01-dev/prompt.md"), Ok(Some(HEAD))),
        // Nothing committed yet: it goes on from its base.
        (with("head", Value::Null), vec![], Ok(None)),
        (with("run_id", json!("Q")), vec![], Err("not of this run")),
        (with("issue", json!("A-2")), vec![], Err("not of this run")),
        (with("base", json!("C")), vec![], Err("not of this run")),
        (
            with("held", json!("secrets")),
            vec![],
            Err("kept its branch back"),
        ),
        (
            provenance(),
            log("../../.git/config"),
            Err("outside its directory"),
        ),
        (
            provenance(),
            log("/etc/passwd"),
            Err("outside its directory"),
        ),
    ];
    for (p, logs, want) in cases {
        match (checked(&p, &logs, whose), want) {
            (Ok(head), Ok(want)) => assert_eq!(head.as_deref(), want, "{p}"),
            (Err(why), Err(says)) => assert!(why.contains(says), "{why} / {says}"),
            (got, want) => panic!("{p}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn an_earlier_records_paths_become_this_runners_and_none_may_leave_its_log_directory() {
    let (theirs, ours) = (Path::new("/w/one/logs/A-1"), Path::new("/w/two/logs/A-1"));
    let command = |log: &str| CommandRecord {
        name: "deliver".into(),
        command: "git push".into(),
        status: Some(0),
        log: PathBuf::from(log),
        duration_ms: 1,
        approved_by: None,
    };
    let mut record = IssueState::pending("A-1");
    record.commands = vec![command("/w/one/logs/A-1/commands/deliver.log")];
    rebased(&mut record, theirs, ours).unwrap();
    assert_eq!(
        record.commands[0].log,
        Path::new("/w/two/logs/A-1/commands/deliver.log")
    );
    for outside in [
        "/etc/passwd",
        "/w/one/logs/A-1/../../secret",
        "commands/deliver.log",
    ] {
        let mut record = IssueState::pending("A-1");
        record.commands = vec![command(outside)];
        let why = rebased(&mut record, theirs, ours).unwrap_err();
        assert!(
            why.contains("outside its log directory"),
            "{outside}: {why}"
        );
    }
}
