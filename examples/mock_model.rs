//! The test suite's local model server, standalone: `cargo run --example mock_model` prints
//! the `codex exec` arguments that point codex at it, then serves until killed. Used by
//! `scripts/demo.sh` so the demo runs the real codex offline.
//!
//! `--demo ISSUE` scripts one issue so the demo shows what orch does when things go wrong:
//! its dev phase first tries `gt sync` (a global restack the guard refuses), then does its
//! work; its first review asks for a change, so a fix phase runs and the next review passes.
//! Every other phase plays the default playbook (commit a file, pass).

// The servers' request reader; the headers it reads are the GitHub stand-in's.
#[path = "../tests/it/support/http.rs"]
#[allow(dead_code)]
mod http;
#[path = "../tests/it/support/mock_claude.rs"]
mod mock_claude;
#[path = "../tests/it/support/mock_model.rs"]
mod mock_model;

use mock_model::{dev_json, review_json, Reply};

fn main() {
    let server = mock_model::MockModel::start();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(issue) = args
        .windows(2)
        .find(|w| w[0] == "--demo")
        .map(|w| w[1].clone())
    {
        script_demo(&server, &issue);
    }
    let codex_args = server.codex_args();
    // One line of TOML (a string array) for `[codex] args` in orch.toml.
    let quoted: Vec<String> = codex_args.iter().map(|a| format!("{a:?}")).collect();
    println!("args = [{}]", quoted.join(", "));
    use std::io::Write;
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}

fn script_demo(server: &mock_model::MockModel, issue: &str) {
    let work = |what: &str| {
        format!(
            "mkdir -p orch-demo && printf '%s\\n' '{what}' >> orch-demo/{issue}.md && git add orch-demo && git commit -q -m '{issue}: {what}'"
        )
    };
    server.script(
        &format!("{issue}/01-dev"),
        vec![
            Reply::Commands(vec![format!(
                "gt sync; echo \"gt sync exited $? (refused by orch's guard)\"; {}",
                work("first cut")
            )]),
            Reply::Message(dev_json("pass")),
        ],
    );
    server.script(
        &format!("{issue}/02-review"),
        vec![Reply::Message(review_json(
            "changes_required",
            &["Reject a posting whose debits and credits do not balance, with a test"],
        ))],
    );
    server.script(
        &format!("{issue}/03-fix"),
        vec![
            Reply::Commands(vec![work("reject unbalanced postings, with a test")]),
            Reply::Message(mock_model::fix_json("pass")),
        ],
    );
}
