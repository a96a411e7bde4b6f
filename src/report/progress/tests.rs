use super::*;
use crate::model::record::{IssueSummary, PhaseRecord};
use std::sync::Arc;

/// A writer the test reads back.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn plain_output_says_once_a_minute_which_agent_has_gone_quiet() {
    let buffer = Buffer::default();
    let progress = Progress::new(Styler::plain(), false, Box::new(buffer.clone()));
    progress.on(&EngineEvent::IssueStarted {
        id: "A-1".into(),
        position: 1,
        total: 1,
    });
    progress.on(&EngineEvent::PhaseStarted {
        id: "A-1".into(),
        seq: 1,
        phase: PhaseKind::Dev,
        agent: "codex".into(),
    });
    let text = || String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    let before = text();
    progress.tick();
    assert_eq!(text(), before, "not quiet yet");
    let silent_for = |secs| {
        let mut board = progress.board.lock().unwrap();
        board.issues.get_mut("A-1").unwrap().heard = Instant::now() - Duration::from_secs(secs);
    };
    silent_for(125);
    progress.tick();
    progress.tick();
    assert_eq!(
        text().strip_prefix(&before).unwrap(),
        "[A-1] 01-dev quiet for 2m00s\n",
        "said once for the minute"
    );
    silent_for(185);
    progress.tick();
    assert!(
        text().ends_with("[A-1] 01-dev quiet for 3m00s\n"),
        "{}",
        text()
    );
}

#[test]
fn plain_lines_name_their_issue_and_the_tally_follows_each_end() {
    let buffer = Buffer::default();
    let progress = Progress::new(Styler::plain(), false, Box::new(buffer.clone()));
    let record = |seq, phase, status: &str| PhaseRecord {
        seq,
        phase,
        status: Some(status.to_owned()),
        ..serde_json::from_value(serde_json::json!({
            "seq": 0, "phase": "dev", "status": null, "failure": null, "session_id": null,
            "usage": {"input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0},
            "commits": 1, "duration_ms": 1500, "log_dir": "/logs"
        }))
        .unwrap()
    };
    let summary = |id: &str, outcome: &str| -> IssueSummary {
        serde_json::from_value(serde_json::json!({
            "id": id, "title": id, "outcome": outcome, "reason": null, "cycles": 0,
            "branch": format!("orch/{id}"), "phases": [], "commits": 1,
            "tokens": {"input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0},
            "remaining_actions": [], "rescue_ref": null, "log_dir": "/logs", "base": null
        }))
        .unwrap()
    };
    let events = [
        EngineEvent::RunStarted {
            run_id: "r1".into(),
            project: Some("p".into()),
            milestone: "M1".into(),
            issues: 3,
            issue_ids: vec!["A-1".into(), "B-1".into(), "C-1".into()],
            log_dir: "/logs".into(),
            resumed: false,
            budget: Default::default(),
            sandbox: "worktree".into(),
            base: "main".into(),
            base_commit: "0123456789abcdef".into(),
            carried: Vec::new(),
            restart: Vec::new(),
        },
        EngineEvent::IssueStarted {
            id: "A-1".into(),
            position: 1,
            total: 3,
        },
        EngineEvent::IssueStarted {
            id: "B-1".into(),
            position: 2,
            total: 3,
        },
        EngineEvent::PhaseStarted {
            id: "B-1".into(),
            seq: 1,
            phase: PhaseKind::Dev,
            agent: "codex".into(),
        },
        EngineEvent::PhaseFinished {
            id: "B-1".into(),
            record: record(1, PhaseKind::Dev, "pass"),
        },
        EngineEvent::IssueFinished {
            summary: summary("B-1", "completed"),
        },
        EngineEvent::IssueFinished {
            summary: summary("A-1", "failed"),
        },
    ];
    for e in &events {
        progress.on(e);
    }
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert_eq!(
        text,
        "orch run r1: milestone p/M1, 3 issue(s) from main at 0123456789; logs in /logs/r1\n\
         [A-1] started (1/3)\n\
         [B-1] started (2/3)\n\
         [B-1] 01-dev started\n\
         [B-1] 01-dev pass (1 commit(s), 1.5s)\n\
         [B-1] → completed\n\
         [run] 1 done · 1 running · 1 waiting · 0 not passed\n\
         [A-1] → failed\n\
         [run] 1 done · 0 running · 1 waiting · 1 not passed\n"
    );
}
