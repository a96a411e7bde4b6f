//! The test suite's local model server, standalone: `cargo run --example mock_model` prints
//! the `codex exec` arguments that point codex at it, then serves until killed. Used by
//! `scripts/demo.sh` so the demo runs the real codex offline.

#[path = "../tests/support/mock_model.rs"]
mod mock_model;

fn main() {
    let server = mock_model::MockModel::start();
    let args = server.codex_args();
    // One line of TOML (a string array) for `[codex] args` in orch.toml.
    let quoted: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
    println!("args = [{}]", quoted.join(", "));
    use std::io::Write;
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}
