use super::*;
use crate::input::config::CodexConfig;
use crate::input::config::GuardConfig;

/// The template with every setting uncommented (prose lines stay comments).
fn uncommented(text: &str) -> String {
    let setting = regex::Regex::new(r#"^# (\[\w+(?:\."[\w.-]+")?\]|\w+ = .*)$"#).unwrap();
    text.lines()
        .map(|l| match setting.captures(l) {
            Some(c) => c[1].to_owned(),
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn orch_toml_lists_every_key_at_its_default() {
    let text = orch_toml("shop");
    // As written, nothing is set.
    assert_eq!(
        Config::parse(Path::new("orch.toml"), &text).unwrap(),
        Config::default()
    );
    // Uncommented, every key parses with the real loader and holds the documented
    // default. The literals below name every field: a new key in Config (or in
    // [codex]/[guard]) does not compile here until the template and this test know it.
    let config = Config::parse(Path::new("orch.toml"), &uncommented(&text)).unwrap();
    let list = |l: &[&str]| Some(l.iter().map(|s| (*s).to_owned()).collect());
    let expected = Config {
        docs_glob: Some(crate::input::docs::DEFAULT_DOCS_GLOB.to_owned()),
        // No default: the template shows an example.
        project: Some("ledger-api".to_owned()),
        done_states: list(crate::input::docs::states::DEFAULT_DONE),
        not_ready_states: list(crate::input::docs::states::DEFAULT_NOT_READY),
        worktree_root: Some(PathBuf::from("../shop.orch-worktrees")),
        max_review_cycles: Some(crate::input::config::DEFAULT_MAX_REVIEW_CYCLES),
        jobs: Some(crate::input::config::DEFAULT_JOBS),
        // No defaults: the template shows examples.
        budget_tokens: Some(5_000_000),
        budget_usd: Some(25.0),
        issue_budget_tokens: Some(1_000_000),
        issue_budget_usd: Some(5.0),
        phase_reserve_tokens: Some(crate::input::config::DEFAULT_PHASE_RESERVE_TOKENS),
        pricing: [(
            "gpt-5-codex".to_owned(),
            crate::input::config::Price {
                input: 1.25,
                cached_input: Some(0.125),
                output: 10.0,
            },
        )]
        .into(),
        trunk: Some("main".to_owned()),
        // No default: the template shows an example.
        base: Some("release-2".to_owned()),
        logs_dir: Some(PathBuf::from("logs")),
        phase_timeout: Some(toml::Value::String("30m".to_owned())),
        stall_timeout: Some(toml::Value::String("10m".to_owned())),
        stall_retries: Some(crate::input::config::DEFAULT_STALL_RETRIES),
        retry_attempts: Some(crate::input::config::DEFAULT_RETRY_ATTEMPTS),
        retry_backoff: Some(toml::Value::String("5s".to_owned())),
        repo_map_bytes: Some(crate::input::config::DEFAULT_REPO_MAP_BYTES),
        dashboard: Some(true),
        dashboard_path: Some(PathBuf::from("TASKS.md")),
        codex: CodexConfig {
            bin: Some(PathBuf::from("codex")),
            args: Vec::new(),
            sandbox: Some(crate::input::config::SANDBOX_WORKTREE.to_owned()),
            resume_fix: Some(true),
        },
        worktree: crate::input::config::WorktreeConfig {
            setup: Vec::new(),
            copy: Vec::new(),
            teardown: Vec::new(),
            setup_timeout: Some(toml::Value::String("10m".to_owned())),
        },
        agents: crate::input::config::AgentsConfig {
            dev: Some(crate::input::config::AgentKind::Codex),
            review: Some(crate::input::config::AgentKind::Codex),
            fix: Some(crate::input::config::AgentKind::Codex),
        },
        claude: crate::input::config::ClaudeConfig {
            bin: Some(PathBuf::from("claude")),
            args: Vec::new(),
            model: Some("claude-sonnet-4-5".to_owned()),
            sandbox: Some(crate::input::config::SANDBOX_WORKTREE.to_owned()),
        },
        verify: crate::input::config::VerifyConfig {
            commands: Some(vec!["cargo test".to_owned()]),
        },
        agent: crate::input::config::AgentConfig {
            network: Some(false),
            pass_env: Vec::new(),
            unreachable_timeout: Some(toml::Value::String("60s".to_owned())),
            max_repeats: Some(crate::input::config::DEFAULT_MAX_REPEATS),
        },
        guard: Some(GuardConfig::default()),
        graphite: crate::input::config::GraphiteConfig {
            submit: Some(crate::input::config::Submit::Never),
        },
        review: crate::input::config::ReviewConfig { doc: Some(false) },
        forge: Some(crate::input::config::ForgeConfig {
            api_url: Some(crate::input::config::GITHUB_API.to_owned()),
            graphql_url: Some(format!("{}/graphql", crate::input::config::GITHUB_API)),
            // No default: the template shows an example.
            repo: Some("acme/shop".to_owned()),
            remote: Some("origin".to_owned()),
            resolve: Some(false),
            poll_interval: Some(toml::Value::String("60s".to_owned())),
            max_rate_wait: Some(toml::Value::String("15m".to_owned())),
            required_checks: Some(Vec::new()),
        }),
        submit: crate::input::config::SubmitConfig {
            via: Some(crate::input::config::SubmitVia::Github),
        },
        executor: crate::input::config::ExecutorConfig {
            on: Some(crate::input::config::Executor::Local),
        },
        max_forge_cycles: Some(crate::input::config::DEFAULT_MAX_FORGE_CYCLES),
    };
    assert_eq!(config, expected);
    assert_eq!(
        config.phase_timeout(),
        crate::input::config::DEFAULT_PHASE_TIMEOUT
    );
    assert_eq!(
        config.stall_timeout(),
        Some(crate::input::config::DEFAULT_STALL_TIMEOUT)
    );
    assert_eq!(config.guard, Some(GuardConfig::default()));
    // Every setting line has its explanation right above it.
    let lines: Vec<&str> = text.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if uncommented(l) != *l {
            let above = lines[i - 1];
            assert!(
                above.starts_with("# ") && uncommented(above) == above,
                "no explanation above `{l}`"
            );
        }
    }
}

#[test]
fn example_plan_is_a_small_valid_plan() {
    let dir = tempfile::tempdir().unwrap();
    for marker in [
        None,
        Some("Cargo.toml"),
        Some("package.json"),
        Some("go.mod"),
    ] {
        if let Some(m) = marker {
            std::fs::write(dir.path().join(m), "").unwrap();
        }
        let text = example_plan(dir.path(), "my shop");
        let plan: serde_norway::Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(plan["version"], serde_norway::Value::from(1));
        assert_eq!(
            plan["project"]["name"],
            serde_norway::Value::from("my shop")
        );
        assert!(plan["orchestrator"]["approvals"]["required"]
            .as_sequence()
            .unwrap()
            .is_empty());
        let tasks = plan["tasks"].as_sequence().unwrap();
        assert_eq!(tasks.len(), 2);
        let ids: Vec<&str> = tasks.iter().map(|t| t["id"].as_str().unwrap()).collect();
        for task in tasks {
            for key in [
                "id",
                "title",
                "type",
                "description",
                "paths",
                "commands",
                "acceptance",
                "dependencies",
            ] {
                assert!(task.get(key).is_some(), "{key} missing");
            }
            assert!(!task["paths"]["preferred"].as_sequence().unwrap().is_empty());
            for line in task["acceptance"].as_sequence().unwrap() {
                crate::model::check::Check::parse(line.as_str().unwrap()).unwrap();
            }
            for dep in task["dependencies"].as_sequence().unwrap() {
                assert!(ids.contains(&dep.as_str().unwrap()));
            }
        }
        assert_eq!(
            tasks[1]["dependencies"][0],
            serde_norway::Value::from("DOC-001")
        );
    }
}

#[test]
fn logs_entry_follows_logs_dir() {
    let root = Path::new("/r/repo");
    assert_eq!(
        logs_ignore_entry(&Config::default(), root).as_deref(),
        Some("/logs/orch/")
    );
    let nested = Config::parse(Path::new("o"), "logs_dir = \"./var/log\"").unwrap();
    assert_eq!(
        logs_ignore_entry(&nested, root).as_deref(),
        Some("/var/log/orch/")
    );
    let outside = Config::parse(Path::new("o"), "logs_dir = \"../logs\"").unwrap();
    assert_eq!(logs_ignore_entry(&outside, root), None);
    let absolute = Config::parse(Path::new("o"), "logs_dir = \"/var/orch\"").unwrap();
    assert_eq!(logs_ignore_entry(&absolute, root), None);
}
