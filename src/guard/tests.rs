//! The policy as a table: argv, context, config → expected verdict (and rule name).

use super::gt::GIT_PASSTHROUGH;
use super::*;
use crate::input::config::GuardConfig;
use std::path::Path;

/// Where the agent stands. The issue branch is `feat`, the stack `feat` → `feat-2`, trunk
/// `main` (children `feat`, `other`); `later` is another issue's branch.
#[derive(Debug, Clone, Copy)]
enum Ctx {
    /// On `feat-2`, the top of the stack.
    Top,
    /// On `feat`, the issue branch.
    Base,
    /// On `feat-2`, with `later` stacked on top of it.
    Foreign,
    /// On `main`.
    Main,
    /// HEAD detached.
    Detached,
}

#[derive(Debug, Clone, Copy)]
enum Cfg {
    Default,
    /// allow_gt sync, newcmd, `us o`; deny_gt log; deny_git clean, `remote remove`;
    /// enforce_draft false.
    Custom,
    /// allow_publish: publishing PRs is authorised.
    Publish,
}

#[derive(Debug, Clone, Copy)]
enum Want {
    /// Allowed with argv unchanged.
    Allow,
    /// Allowed with this forwarded argv (after the program name).
    Fwd(&'static str),
    /// Denied by this rule.
    Deny(&'static str),
}

use Cfg::{Custom as C, Default as D, Publish as P};
use Ctx::{Base as B, Detached as X, Foreign as F, Main as M, Top as T};
use Want::{Allow as A, Deny as N, Fwd};

const ALIASES: &str = "\
# user aliases for the table
ls log short
ll log long
ss submit --stack
shipit submit --publish
draftit submit --draft
loopa loopb
loopb loopa
status log short
children submit --publish
sneaky push --force
";

#[rustfmt::skip]
const ROWS: &[(&str, Ctx, Cfg, Want)] = &[
    // Read-only, help, version.
    ("gt log", T, D, A),
    ("gt ls", T, D, A),
    ("gt ll --stack", T, D, A),
    ("gt l -s -n 2", T, D, A),
    ("gt info feat", T, D, A),
    ("gt bi --diff", T, D, A),
    ("gt parent", T, D, A),
    ("gt trunk", T, D, A),
    ("gt trunk --add=dev", T, D, N("graphite-config")),
    ("gt", T, D, A),
    ("gt --help", T, D, A),
    ("gt submit --publish --help", T, D, A),
    ("gt restack --version", T, D, A),
    ("gt branch", T, D, A),
    // Navigation.
    ("gt co main", T, D, A),
    ("gt u 2", T, D, A),
    ("gt bb", T, D, A),
    ("gt branch checkout feat", T, D, A),
    // create.
    ("gt c next -am msg", T, D, A),
    ("gt create next -i", T, D, N("restack")),
    ("gt bc next -ai", T, D, N("restack")),
    ("gt create -mfix", T, D, N("force")),
    // modify and its legacy forms.
    ("gt m -a", T, D, A),
    ("gt m -a", F, D, N("restack")),
    ("gt modify -c -m msg", M, D, N("outside-stack")),
    ("gt modify --into feat", T, D, A),
    ("gt modify --into=main", T, D, N("outside-stack")),
    ("gt ca", X, D, N("outside-stack")),
    ("gt commit amend", T, D, A),
    ("gt cc -m msg", F, D, N("restack")),
    // track.
    ("gt tr feat-2 -p feat", T, D, A),
    ("gt track other", T, D, N("outside-stack")),
    ("gt ds tr", T, D, N("outside-stack")),
    // sync / get.
    ("gt sync", T, D, N("restack")),
    ("gt sync --no-restack", T, D, A),
    ("gt sync --no-restack -f", T, D, N("force")),
    ("gt sync --no-restack -d", T, D, N("destructive")),
    ("gt rs", T, D, N("restack")),
    ("gt repo sync --no-restack", T, D, A),
    ("gt rs --restack=false", T, D, A),
    ("gt sync --restack false", T, D, A),
    ("gt sync --noRestack", T, D, N("restack")),
    ("gt --debug sync --no-restack", T, D, A),
    ("gt sync --no-restack --restack", T, D, N("restack")),
    ("gt get feat", T, D, N("restack")),
    ("gt ds g feat --no-restack", T, D, A),
    ("gt get feat --no-restack --delete-all", T, D, N("destructive")),
    // submit in all its forms.
    ("gt ss -p", T, D, N("remote")),
    ("gt ss --draft", T, D, Fwd("ss --draft --no-interactive")),
    ("gt submit -d -q", T, D, A),
    ("gt submit --draft --no-interactive", T, D, A),
    ("gt submit", T, D, N("draft-required")),
    ("gt s --dry-run", T, D, Fwd("s --dry-run --no-interactive")),
    ("gt submit --dryRun", T, D, Fwd("submit --dryRun --no-interactive")),
    ("gt bs", T, D, N("draft-required")),
    ("gt bs -d", T, D, Fwd("bs -d --no-interactive")),
    ("gt submit -dm", T, D, N("remote")),
    ("gt submit -d --restack", T, D, N("restack")),
    ("gt submit --draft --force", T, D, N("force")),
    ("gt submit --draft=false", T, D, N("draft-required")),
    ("gt submit --draft --no-draft", T, D, N("draft-required")),
    ("gt stack submit --draft", F, D, N("outside-stack")),
    ("gt ss -d", F, D, N("outside-stack")),
    ("gt us s -d", T, D, Fwd("us s -d --no-interactive")),
    ("gt ds s --draft", T, D, Fwd("ds s --draft --no-interactive")),
    ("gt submit --draft --branch other", T, D, N("outside-stack")),
    ("gt submit --draft", M, D, N("outside-stack")),
    ("gt submit --draft -- extra", T, D, Fwd("submit --draft --no-interactive -- extra")),
    // The dev-auto contract's allowlist (§4), every entry allowed as written.
    ("gt ls", T, D, A),
    ("gt create next -m msg", T, D, A),
    ("gt track feat-2", T, D, A),
    ("gt modify -a -m msg", T, D, A),
    ("gt sync --no-restack", T, D, A),
    ("gt restack --upstack", T, D, A),
    ("gt ss --draft", T, D, Fwd("ss --draft --no-interactive")),
    ("gt submit --stack --draft", T, D, Fwd("submit --stack --draft --no-interactive")),
    ("gt ss -u", T, D, Fwd("ss -u --no-interactive")),
    ("gt submit --stack --update-only", T, D, Fwd("submit --stack --update-only --no-interactive")),
    // ... and what it refuses: global restacks, sync that restacks, moving other stacks,
    // publishing (unless authorised).
    ("gt restack", T, D, N("restack")),
    ("gt sync", T, D, N("restack")),
    ("gt move --onto main", T, D, N("restack")),
    ("gt track other --parent feat", T, D, N("outside-stack")),
    ("gt ss --publish", T, D, N("remote")),
    ("gt ss -u --publish", T, D, N("remote")),
    // restack --upstack: when every branch it moves is the issue's.
    ("gt restack --upstack", B, D, A),
    ("gt restack -u", T, D, A),
    ("gt us r", B, D, A),
    ("gt us f", T, D, A),
    ("gt upstack restack", T, D, A),
    ("gt restack --upstack --branch feat", T, D, A),
    ("gt restack --upstack", F, D, N("restack")),
    ("gt us r", F, D, N("restack")),
    ("gt restack --upstack --branch other", T, D, N("outside-stack")),
    ("gt restack --upstack", M, D, N("outside-stack")),
    ("gt restack --upstack", X, D, N("outside-stack")),
    ("gt restack --upstack --only", T, D, N("restack")),
    ("gt restack --upstack --downstack", T, D, N("restack")),
    ("gt restack --downstack", T, D, N("restack")),
    ("gt restack --upstack -f", T, D, N("force")),
    // update-only needs no --draft; it still stays in the stack.
    ("gt submit -u", T, D, Fwd("submit -u --no-interactive")),
    ("gt ss -u", F, D, N("outside-stack")),
    ("gt submit -u --branch other", T, D, N("outside-stack")),
    // Publishing, when authorised: no --draft needed; auto-merge still refused.
    ("gt ss --publish", T, P, Fwd("ss --publish --no-interactive")),
    ("gt submit -p", T, P, Fwd("submit -p --no-interactive")),
    ("gt ss -p", F, P, N("outside-stack")),
    ("gt submit -p -m", T, P, N("remote")),
    ("gt submit", T, P, N("draft-required")),
    // Every restack form.
    ("gt restack", T, D, N("restack")),
    ("gt r", T, D, N("restack")),
    ("gt sr", T, D, N("restack")),
    ("gt br", T, D, N("restack")),
    ("gt stack fix", T, D, N("restack")),
    ("gt us f", F, D, N("restack")),
    ("gt ds r", T, D, N("restack")),
    ("gt upstack restack --only", T, D, N("restack")),
    ("gt us o main", T, D, N("restack")),
    ("gt move --onto main", T, D, N("restack")),
    ("gt upstack onto main", T, D, N("restack")),
    ("gt fold", T, D, N("restack")),
    ("gt bf", T, D, N("restack")),
    ("gt sq", T, D, N("restack")),
    ("gt split --by-file", T, D, N("restack")),
    ("gt absorb", T, D, N("restack")),
    ("gt absorb --dry-run", T, D, A),
    ("gt ab -d", T, D, A),
    ("gt ab -df", T, D, N("force")),
    ("gt ds e", T, D, N("restack")),
    ("gt reorder", T, D, N("restack")),
    ("gt be", T, D, N("restack")),
    ("gt cont", T, D, N("restack")),
    ("gt abort", T, D, N("restack")),
    // delete / pop / untrack.
    ("gt delete feat-2", T, D, A),
    ("gt dl other", T, D, N("outside-stack")),
    ("gt delete", M, D, N("outside-stack")),
    ("gt delete feat", T, D, N("issue-branch")),
    ("gt dl feat-2 -f", T, D, N("force")),
    ("gt delete feat-2 --close", T, D, N("remote")),
    ("gt delete feat-2 --downstack", T, D, N("outside-stack")),
    ("gt delete feat-2", F, D, N("outside-stack")),
    ("gt pop", T, D, A),
    ("gt pop", B, D, N("issue-branch")),
    ("gt branch unbranch", M, D, N("outside-stack")),
    ("gt untrack feat-2", T, D, A),
    ("gt utr other", T, D, N("outside-stack")),
    // Destructive, remote, configuration, unsupported.
    ("gt undo", T, D, N("destructive")),
    ("gt merge", T, D, N("remote")),
    ("gt ds m --dry-run", T, D, A),
    ("gt init --reset", T, D, N("destructive")),
    ("gt ri --trunk main", T, D, N("graphite-config")),
    ("gt auth -t x", T, D, N("graphite-config")),
    ("gt user editor --set vim", T, D, N("graphite-config")),
    ("gt aliases --legacy", T, D, N("graphite-config")),
    ("gt rename x", T, D, N("unsupported")),
    ("gt rn x -f", T, D, N("force")),
    ("gt dash", T, D, N("unsupported")),
    // Unknown words and aliases.
    ("gt frobnicate", T, D, N("unknown-command")),
    ("gt branch frob", T, D, N("unknown-command")),
    ("gt shipit", T, D, N("remote")),
    ("gt shipit --draft", T, D, N("remote")),
    ("gt draftit", T, D, Fwd("draftit --no-interactive")),
    ("gt loopa", T, D, N("unknown-command")),
    ("gt status", T, D, A),
    ("gt children", T, D, N("remote")),
    ("gt --debug children", T, D, A),
    ("gt --debug shipit", T, D, N("unknown-command")),
    // git passthrough.
    ("gt push --force", T, D, N("push-rewrite")),
    ("gt push", T, D, A),
    ("gt push origin +feat-2", T, D, N("push-rewrite")),
    ("gt --no-interactive push", T, D, N("unknown-command")),
    ("gt sneaky", T, D, N("push-rewrite")),
    ("gt reset --hard", T, D, A),
    ("gt reset --hard", M, D, N("outside-stack")),
    ("gt rebase main", T, D, A),
    ("gt add -A", T, D, A),
    // --cwd.
    ("gt --cwd ../other log", T, D, N("outside-worktree")),
    ("gt log --cwd=sub", T, D, A),
    ("gt --cwd /wt/feat/sub log", T, D, A),
    ("gt --cwd /elsewhere push", T, D, N("outside-worktree")),
    // orch.toml [guard].
    ("gt sync", T, C, A),
    ("gt sync -f", T, C, N("force")),
    ("gt newcmd", T, C, A),
    ("gt log", T, C, N("configured")),
    ("gt ls", T, C, N("configured")),
    ("gt submit", T, C, Fwd("submit --no-interactive")),
    ("gt submit -p", T, C, N("remote")),
    ("gt us o main", T, C, A),
    ("gt clean -fdx", T, C, N("configured")),
    ("gt push --force", T, C, N("push-rewrite")),
    ("git clean -fdx", T, C, N("configured")),
    ("git remote remove origin", T, C, N("configured")),
    ("git remote -v", T, C, A),
    // git: push.
    ("git status", T, D, A),
    ("git --version", T, D, A),
    ("git push", T, D, A),
    ("git push", M, D, N("outside-stack")),
    ("git push --force", T, D, N("push-rewrite")),
    ("git push -f origin feat-2", T, D, N("push-rewrite")),
    ("git push -uf origin feat-2", T, D, N("push-rewrite")),
    ("git push origin +main", T, D, N("push-rewrite")),
    ("git push --force-with-lease=main", T, D, N("push-rewrite")),
    ("git push --force-with-lease origin feat-2", T, D, N("push-rewrite")),
    ("git push --force-if-includes", T, D, N("push-rewrite")),
    ("git push --no-force-with-lease origin feat-2", T, D, A),
    ("git push origin :feat-2", T, D, N("push-rewrite")),
    ("git push -d origin feat-2", T, D, N("push-rewrite")),
    ("git push --delete origin feat-2", T, D, N("push-rewrite")),
    ("git push --mirror", T, D, N("push-rewrite")),
    ("git push --prune origin", T, D, N("push-rewrite")),
    ("git push --forc", T, D, N("push-rewrite")),
    ("git push origin HEAD:main", T, D, N("outside-stack")),
    ("git push origin main", T, D, N("outside-stack")),
    ("git push -u origin feat-2", T, D, A),
    ("git push origin HEAD", T, D, A),
    ("git push origin HEAD:refs/heads/feat-2", T, D, A),
    ("git push origin refs/tags/v1", T, D, A),
    ("git push --tags", M, D, A),
    ("git push --all", T, D, N("outside-stack")),
    ("git push -o ci.skip origin feat-2", T, D, A),
    // git: worktrees and retargeting.
    ("git -C other worktree add x", T, D, N("worktree")),
    ("git worktree add ../x", T, D, N("worktree")),
    ("git worktree remove ../x", T, D, N("worktree")),
    ("git worktree prune", T, D, N("worktree")),
    ("git worktree list", T, D, A),
    ("git -C /elsewhere status", T, D, N("outside-worktree")),
    ("git --git-dir=../x/.git log", T, D, N("outside-worktree")),
    ("git --work-tree /tmp status", T, D, N("outside-worktree")),
    ("git -C /wt/feat/sub status", T, D, A),
    ("git --no-pager -C sub log", T, D, A),
    // git: aliases.
    ("git -c alias.x=push x", T, D, N("git-alias")),
    ("git -c user.name=bot commit -m x", T, D, A),
    ("git config alias.p push", T, D, N("git-alias")),
    ("git config --get alias.p", T, D, A),
    // git: branch.
    ("git branch -D main", T, D, N("outside-stack")),
    ("git branch -D feat-2", T, D, A),
    ("git branch -D feat", T, D, N("issue-branch")),
    ("git branch -m newname", M, D, N("outside-stack")),
    ("git branch -m newname", T, D, A),
    ("git branch -m feat-2 feat-3", T, D, A),
    ("git branch --move feat newname", T, D, N("issue-branch")),
    ("git branch -M feat-2 main", T, D, N("outside-stack")),
    ("git branch -f main HEAD", T, D, N("outside-stack")),
    ("git branch -f feat-2 HEAD", T, D, A),
    ("git branch new-topic", T, D, A),
    ("git branch --delete --force other", T, D, N("outside-stack")),
    ("git branch -dr origin/main", T, D, N("outside-stack")),
    ("git branch --list", T, D, A),
    // git: refs.
    ("git update-ref refs/heads/feat-2 HEAD", T, D, A),
    ("git update-ref refs/heads/main HEAD", T, D, N("outside-stack")),
    ("git update-ref -d refs/tags/v1", T, D, N("outside-stack")),
    ("git update-ref --stdin", T, D, N("outside-stack")),
    ("git update-ref HEAD abc123", T, D, A),
    ("git update-ref HEAD abc123", M, D, N("outside-stack")),
    ("git symbolic-ref HEAD", T, D, A),
    ("git symbolic-ref --short HEAD", M, D, A),
    ("git symbolic-ref HEAD refs/heads/main", T, D, N("outside-stack")),
    ("git symbolic-ref HEAD refs/heads/feat", T, D, A),
    // git: history on the current branch.
    ("git reset --hard origin/feat-2", T, D, A),
    ("git reset --hard", M, D, N("outside-stack")),
    ("git reset -- file", M, D, A),
    ("git reset --hard", X, D, A),
    ("git rebase main", T, D, A),
    ("git rebase main", M, D, N("outside-stack")),
    ("git rebase main other", T, D, N("outside-stack")),
    ("git rebase --update-refs main", T, D, N("restack")),
    ("git rebase --continue", M, D, A),
    ("git checkout -B main", T, D, N("outside-stack")),
    ("git checkout -b topic", T, D, A),
    ("git switch -C main", T, D, N("outside-stack")),
    ("git switch -c topic", T, D, A),
    ("git fetch origin main:main", T, D, N("outside-stack")),
    ("git fetch origin +feat-2:feat-2", T, D, A),
    ("git fetch origin", T, D, A),
    ("git pull origin main", T, D, A),
    ("git clean -fdx", T, D, A),
    ("git filter-branch -- --all", T, D, N("outside-stack")),
];

fn context(kind: Ctx) -> StackContext {
    let mut children: BTreeMap<String, Vec<String>> = BTreeMap::new();
    children.insert("main".into(), vec!["feat".into(), "other".into()]);
    children.insert("feat".into(), vec!["feat-2".into()]);
    if let Ctx::Foreign = kind {
        children.insert("feat-2".into(), vec!["later".into()]);
    }
    let current = match kind {
        Ctx::Top | Ctx::Foreign => Some("feat-2"),
        Ctx::Base => Some("feat"),
        Ctx::Main => Some("main"),
        Ctx::Detached => None,
    };
    StackContext {
        issue_branch: "feat".into(),
        stack: vec!["feat".into(), "feat-2".into()],
        current_branch: current.map(String::from),
        children,
        worktree: Some(PathBuf::from("/wt/feat")),
    }
}

fn config(kind: Cfg) -> GuardConfig {
    match kind {
        Cfg::Default => GuardConfig::default(),
        Cfg::Custom => GuardConfig {
            allow_gt: vec!["sync".into(), "newcmd".into(), "us  o".into()],
            deny_gt: vec!["log".into()],
            deny_git: vec!["clean".into(), "remote remove".into()],
            enforce_draft: false,
            ..GuardConfig::default()
        },
        Cfg::Publish => GuardConfig {
            allow_publish: true,
            ..GuardConfig::default()
        },
    }
}

fn words(s: &str) -> Vec<String> {
    s.split(' ')
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn policy_table() {
    assert!(ROWS.len() >= 60);
    let aliases = GtAliases::parse(ALIASES).unwrap();
    let mut failures = Vec::new();
    for (line, ctx, cfg, want) in ROWS {
        let mut argv = words(line);
        let tool = argv.remove(0);
        let (ctx, cfg) = (context(*ctx), config(*cfg));
        let got = match tool.as_str() {
            "gt" => decide_gt(&argv, &ctx, &aliases, &cfg),
            "git" => decide_git(&argv, &ctx, &cfg),
            other => panic!("row {line:?}: unknown tool {other}"),
        };
        let ok = match (want, &got) {
            (Want::Allow, Decision::Allow { forwarded_argv }) => *forwarded_argv == argv,
            (Want::Fwd(f), Decision::Allow { forwarded_argv }) => *forwarded_argv == words(f),
            (Want::Deny(rule), Decision::Deny { rule: r, reason }) => {
                r.name() == *rule && reason.contains('`')
            }
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{line:?} ({ctx:?}): want {want:?}, got {got:?}",
                ctx = ctx.current_branch
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn reasons_name_the_way_out() {
    let (ctx, cfg, aliases) = (
        context(Ctx::Top),
        GuardConfig::default(),
        GtAliases::default(),
    );
    let reason = |line: &str| match decide_gt(&words(line), &ctx, &aliases, &cfg) {
        Decision::Deny { reason, .. } => reason,
        allow => panic!("{line}: {allow:?}"),
    };
    assert!(
        reason("rs").contains("gt rs --no-restack"),
        "{}",
        reason("rs")
    );
    assert!(reason("submit").contains("--draft"));
    assert!(reason("frobnicate").contains("unknown gt command `frobnicate`"));
    let loop_aliases = GtAliases::parse("loopa loopb\nloopb loopa\n").unwrap();
    match decide_gt(&words("loopa"), &ctx, &loop_aliases, &cfg) {
        Decision::Deny { rule, reason } => {
            assert_eq!(rule, Rule::UnknownCommand);
            assert!(
                reason.contains("`loopb`") && reason.contains("alias `loopa`"),
                "{reason}"
            );
        }
        allow => panic!("{allow:?}"),
    }
    match decide_git(&words("branch -D main"), &ctx, &cfg) {
        Decision::Deny { reason, .. } => assert!(reason.contains("`main`"), "{reason}"),
        allow => panic!("{allow:?}"),
    }
}

#[test]
fn passthrough_words_are_not_gt_commands() {
    let (ctx, cfg, aliases) = (
        context(Ctx::Top),
        GuardConfig::default(),
        GtAliases::default(),
    );
    for word in GIT_PASSTHROUGH {
        // Reaching the git policy means gt would not have claimed the word.
        let late = decide_gt(&words(&format!("--debug {word}")), &ctx, &aliases, &cfg);
        assert_eq!(late.rule(), Some(Rule::UnknownCommand), "{word}");
    }
}

#[test]
fn guard_config_from_orch_toml() {
    let text = "[guard]\nallow_gt = [\"sync\"]\ndeny_git = [\"clean\"]\nenforce_draft = false\n";
    let config = crate::input::config::Config::parse(Path::new("orch.toml"), text).unwrap();
    let guard = config.guard.unwrap();
    assert_eq!(guard.allow_gt, ["sync"]);
    assert_eq!(guard.deny_git, ["clean"]);
    assert!(guard.deny_gt.is_empty());
    assert!(!guard.enforce_draft);

    let config = crate::input::config::Config::parse(Path::new("orch.toml"), "[guard]\n").unwrap();
    assert_eq!(config.guard.unwrap(), GuardConfig::default());
    assert!(GuardConfig::default().enforce_draft);

    let err = crate::input::config::Config::parse(Path::new("orch.toml"), "[guard]\nallow = []\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("orch.toml:2") && err.contains("allow"),
        "{err}"
    );
}

#[test]
fn descendants_survive_cycles() {
    let mut ctx = context(Ctx::Top);
    ctx.children
        .insert("feat-2".into(), vec!["feat".into(), "later".into()]);
    let mut d = ctx.descendants("feat");
    d.sort();
    assert_eq!(d, ["feat-2", "later"]);
    assert_eq!(ctx.foreign_descendants("feat"), ["later"]);
}

#[test]
fn paths_inside_the_worktree() {
    let mut ctx = context(Ctx::Top);
    for (path, inside) in [
        ("sub", true),
        ("", true),
        ("a/../b", true),
        ("..", false),
        ("a/../../b", false),
        ("/wt/feat", true),
        ("/wt/feat/./x", true),
        ("/wt/feat/../other", false),
        ("/wt/feature", false),
    ] {
        assert_eq!(ctx.path_inside(path), inside, "{path}");
    }
    ctx.worktree = None;
    assert!(!ctx.path_inside("/wt/feat"));
    assert!(ctx.path_inside("sub"));
}

#[test]
fn decision_helpers() {
    let allow = Decision::allow(&words("log"));
    assert!(allow.is_allowed() && allow.rule().is_none());
    let deny = Decision::deny(Rule::Restack, "x");
    assert_eq!(deny.rule(), Some(Rule::Restack));
    assert_eq!(Rule::PushRewrite.to_string(), "push-rewrite");
}
