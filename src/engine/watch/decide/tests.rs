use super::*;
use crate::forge::checks::Source;

fn check(name: &str, state: State) -> Check {
    Check {
        name: name.to_owned(),
        state,
        url: format!("https://ci/{name}"),
        source: Source::Actions { job: 1 },
    }
}

fn failed(name: &str) -> Check {
    check(name, State::Failed("failure".to_owned()))
}

fn thread(id: &str, resolved: bool, last: &str) -> Thread {
    Thread {
        id: id.to_owned(),
        path: "src/lib.rs".to_owned(),
        line: Some(4),
        resolved,
        outdated: false,
        comments: vec![
            ("ana".into(), "rename this".into(), "https://t/1".into()),
            ("who".into(), last.to_owned(), "https://t/2".into()),
        ],
    }
}

struct Row {
    name: &'static str,
    merged: bool,
    open: bool,
    checks: Vec<Check>,
    threads: Vec<Thread>,
    record: WatchRecord,
    required: Option<Vec<String>>,
    want: &'static str,
}

fn row(name: &'static str, checks: Vec<Check>, want: &'static str) -> Row {
    Row {
        name,
        merged: false,
        open: true,
        checks,
        threads: Vec::new(),
        record: WatchRecord::default(),
        required: None,
        want,
    }
}

/// `fix:<checks>/<threads>`, `wait`, or the outcome's name.
fn verdict(next: &Next) -> String {
    match next {
        Next::Done(outcome, _) => outcome.name().to_owned(),
        Next::Wait(_) => "wait".to_owned(),
        Next::Fix {
            ci_failures,
            review_comments,
        } => format!("fix:{}/{}", ci_failures.len(), review_comments.len()),
    }
}

#[test]
fn the_watch_rule_book() {
    let capped = WatchRecord {
        cycles: 2,
        ..WatchRecord::default()
    };
    let taken = WatchRecord {
        taken_up: vec![WatchRecord::taken_key("H", "t")],
        ..WatchRecord::default()
    };
    let seen = |head: &str| {
        Some(crate::model::forge::Sighting {
            head: head.to_owned(),
            ..Default::default()
        })
    };
    let quiet = WatchRecord {
        quiet: QUIET_LOOKS - 1,
        last: seen("H"),
        ..WatchRecord::default()
    };
    let quiet_before_a_push = WatchRecord {
        quiet: QUIET_LOOKS - 1,
        last: seen("OLD"),
        ..WatchRecord::default()
    };
    let rows = vec![
        Row {
            merged: true,
            open: false,
            ..row("merged", vec![failed("t")], "merged")
        },
        Row {
            open: false,
            ..row("closed", vec![], "closed")
        },
        row(
            "all pass",
            vec![check("t", State::Passed), check("l", State::Passed)],
            "green",
        ),
        row(
            "one failed",
            vec![failed("t"), check("l", State::Passed)],
            "fix:1/0",
        ),
        row(
            "failed and pending: fix now",
            vec![failed("t"), check("l", State::Pending)],
            "fix:1/0",
        ),
        row("pending", vec![check("t", State::Pending)], "wait"),
        Row {
            record: capped.clone(),
            ..row("capped", vec![failed("t")], "capped")
        },
        Row {
            record: taken,
            ..row("taken up, nothing new", vec![failed("t")], "blocked")
        },
        row("no checks yet", vec![], "wait"),
        Row {
            record: quiet,
            ..row("no checks after looks", vec![], "green")
        },
        Row {
            record: quiet_before_a_push,
            ..row("no checks on a new head: counts again", vec![], "wait")
        },
        Row {
            threads: vec![thread("T1", false, "still wrong")],
            ..row("open thread", vec![check("t", State::Passed)], "fix:0/1")
        },
        Row {
            threads: vec![thread("T1", false, &format!("{MARK} Addressed in abc"))],
            ..row(
                "orch had the last word",
                vec![check("t", State::Passed)],
                "green",
            )
        },
        Row {
            threads: vec![thread("T1", true, "fine")],
            ..row("resolved", vec![check("t", State::Passed)], "green")
        },
        Row {
            threads: vec![thread("T1", false, "x")],
            ..row(
                "thread while pending",
                vec![check("t", State::Pending)],
                "fix:0/1",
            )
        },
        Row {
            threads: vec![thread("T1", false, "x")],
            record: capped,
            ..row("thread when capped", vec![], "capped")
        },
        Row {
            required: Some(vec!["t".into()]),
            ..row(
                "a failure not required",
                vec![check("t", State::Passed), failed("lint")],
                "green",
            )
        },
        Row {
            required: Some(vec!["t".into(), "deploy".into()]),
            ..row(
                "a required check not reported",
                vec![check("t", State::Passed)],
                "wait",
            )
        },
    ];
    for r in rows {
        let look = Look {
            merged: r.merged,
            open: r.open,
            head: "H",
            checks: &r.checks,
            threads: &r.threads,
            change_requests: &[],
        };
        let rules = Rules {
            max_cycles: 2,
            required: r.required.as_deref(),
        };
        let next = decide(&look, &r.record, &rules);
        assert_eq!(verdict(&next), r.want, "{}: {next:?}", r.name);
    }
}

#[test]
fn a_thread_reaches_the_fix_as_its_people_wrote_it_and_a_change_request_once() {
    let threads = vec![thread("T1", false, "and the test")];
    let requests = vec![ChangeRequest {
        id: "R1".into(),
        author: "bo".into(),
        body: "Please split this.".into(),
        url: "https://r/1".into(),
    }];
    let look = Look {
        merged: false,
        open: true,
        head: "H",
        checks: &[],
        threads: &threads,
        change_requests: &requests,
    };
    let rules = Rules {
        max_cycles: 2,
        required: None,
    };
    let Next::Fix {
        review_comments, ..
    } = decide(&look, &WatchRecord::default(), &rules)
    else {
        panic!("a fix");
    };
    assert_eq!(review_comments.len(), 2);
    let t = &review_comments[0];
    assert_eq!(
        (t.thread_id.as_str(), t.path.as_str(), t.line),
        ("T1", "src/lib.rs", Some(4))
    );
    assert_eq!(t.body, "ana: rename this\n\nwho: and the test");
    assert_eq!(t.author, "ana");
    assert_eq!(review_comments[1].body, "bo: Please split this.");
    let answered = WatchRecord {
        replied: vec!["R1".into()],
        ..WatchRecord::default()
    };
    let Next::Fix {
        review_comments, ..
    } = decide(&look, &answered, &rules)
    else {
        panic!("a fix");
    };
    assert_eq!(review_comments.len(), 1);
}
