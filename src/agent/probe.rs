//! Before a sandboxed run starts: does this codex, on this machine, confine a command the way
//! the profile says? `codex sandbox` runs one command under the same profile shape, in
//! throwaway directories: a write inside must work, writes to a protected git file and outside
//! must fail, and the network must be as configured. Anything else (an older codex without
//! permission profiles, a kernel without user namespaces or Landlock) refuses the run: orch
//! fails closed rather than run an agent open without saying so.

use super::sandbox::{self, Confinement};
use std::path::Path;
use std::time::{Duration, Instant};

/// Why the sandbox cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unconfined(pub String);

/// Runs the probe with `bin`; `network` as `[agent] network` says.
pub fn probe(bin: &Path, network: bool) -> Result<(), Unconfined> {
    let dir = tempfile_dir().map_err(|e| Unconfined(format!("cannot make a probe dir: {e}")))?;
    let result = run_probe(bin, &dir, network);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "orch-sandbox-probe-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir.canonicalize().unwrap_or(dir))
}

fn run_probe(bin: &Path, dir: &Path, network: bool) -> Result<(), Unconfined> {
    let c = Confinement {
        worktree: dir.join("wt"),
        worktree_git: dir.join("repo/.git/worktrees/wt"),
        common_dir: dir.join("repo/.git"),
        tmp_dir: dir.join("tmp"),
        graphite_homes: None,
        other_worktrees: Vec::new(),
        deny_read: Vec::new(),
        network,
    };
    let mk = |p: &Path| std::fs::create_dir_all(p);
    let setup = (|| -> std::io::Result<()> {
        for d in [&c.worktree, &c.worktree_git, &c.tmp_dir] {
            mk(d)?;
        }
        for sub in ["objects", "refs/heads", "refs/replace", "logs", "hooks"] {
            mk(&c.common_dir.join(sub))?;
        }
        std::fs::write(c.common_dir.join("config"), "[core]\n")?;
        std::fs::write(c.worktree_git.join("commondir"), "../..\n")?;
        std::fs::write(c.worktree_git.join("gitdir"), "x\n")?;
        Ok(())
    })();
    setup.map_err(|e| Unconfined(format!("cannot set up the probe: {e}")))?;
    // A connection to a loopback listener tells whether the network is open.
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| Unconfined(format!("cannot listen on loopback for the probe: {e}")))?;
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let script = format!(
        "touch '{wt}/inside' '{tmp}/inside' '{refs}/inside'; \
         echo x >> '{config}'; touch '{outside}'; echo x >> '{commondir}'; \
         (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null",
        wt = c.worktree.display(),
        tmp = c.tmp_dir.display(),
        refs = c.common_dir.join("refs/heads").display(),
        config = c.common_dir.join("config").display(),
        outside = dir.join("outside").display(),
        commondir = c.worktree_git.join("commondir").display(),
    );
    let mut cmd = std::process::Command::new(bin);
    cmd.arg("sandbox")
        .args(sandbox::codex_args(&c))
        .args(["--", "/bin/bash", "-c", &script])
        .current_dir(&c.worktree)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| Unconfined(format!("cannot run {}: {e}", bin.display())))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Unconfined("`codex sandbox` did not finish in 30 s".into()));
            }
        }
    };
    let stderr = {
        use std::io::Read;
        let mut text = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut text);
        }
        text
    };
    let wrote = |p: &Path| p.exists();
    let inside = [
        c.worktree.join("inside"),
        c.tmp_dir.join("inside"),
        c.common_dir.join("refs/heads/inside"),
    ];
    if let Some(missing) = inside.iter().find(|p| !wrote(p)) {
        let last = stderr
            .lines()
            .rfind(|l| !l.trim().is_empty() && !l.starts_with("WARNING"))
            .unwrap_or_default()
            .trim()
            .to_owned();
        let said = if last.is_empty() {
            String::new()
        } else {
            format!(": {last}")
        };
        return Err(Unconfined(if status.success() {
            format!("a sandboxed command could not write {}", missing.display())
        } else {
            format!("`codex sandbox` failed ({status}{said})")
        }));
    }
    let config = std::fs::read_to_string(c.common_dir.join("config")).unwrap_or_default();
    let commondir = std::fs::read_to_string(c.worktree_git.join("commondir")).unwrap_or_default();
    if config != "[core]\n" || commondir != "../..\n" || wrote(&dir.join("outside")) {
        return Err(Unconfined(
            "a sandboxed command could write outside what the profile allows".into(),
        ));
    }
    let _ = listener.set_nonblocking(true);
    let connected = listener.accept().is_ok();
    if connected != network {
        return Err(Unconfined(format!(
            "a sandboxed command {} the network, but `[agent] network = {network}`",
            if connected {
                "reached"
            } else {
                "could not reach"
            }
        )));
    }
    Ok(())
}

/// What Claude Code's sandbox needs on Linux (measured with 2.1.328: with either missing it
/// refuses to start under `failIfUnavailable`), found on PATH, and bubblewrap able to make a
/// namespace here. Claude Code checks again at every start and refuses rather than run open.
pub fn probe_claude() -> Result<(), Unconfined> {
    use crate::util::platform::{CLAUDE_SANDBOX_INSTALL, CLAUDE_SANDBOX_TOOLS};
    let find = |tool: &str| {
        crate::util::process::find_real(tool).ok_or_else(|| {
            Unconfined(format!(
                "`{tool}` is not on PATH (Claude Code's sandbox needs {} here; {CLAUDE_SANDBOX_INSTALL})",
                CLAUDE_SANDBOX_TOOLS.join(" and ")
            ))
        })
    };
    let found: Vec<std::path::PathBuf> = CLAUDE_SANDBOX_TOOLS
        .iter()
        .map(|tool| find(tool))
        .collect::<Result<_, _>>()?;
    if !cfg!(target_os = "linux") {
        // Seatbelt: nothing to try here that Claude Code does not itself.
        return Ok(());
    }
    let bwrap = &found[0];
    let out = std::process::Command::new(bwrap)
        .args([
            "--ro-bind",
            "/",
            "/",
            "--unshare-all",
            "--die-with-parent",
            "true",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Unconfined(format!("cannot run {}: {e}", bwrap.display())))?;
    if !out.status.success() {
        return Err(Unconfined(format!(
            "{} cannot make a sandbox here ({}): {}",
            bwrap.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}
