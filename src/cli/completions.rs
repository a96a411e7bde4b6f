//! `orch completions <shell>`: shell completion scripts, generated from the CLI definition,
//! with the names only this repository knows — its milestones and issues — completed by
//! asking `orch __complete` as you type.

use super::{GlobalArgs, Workspace};
use clap::CommandFactory;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to generate for.
    shell: clap_complete::Shell,
}

/// `orch __complete milestones|issues`: the names of this repository, one a line, for the
/// completion scripts (nothing at all when there is no repository or no docs).
#[derive(Debug, clap::Args)]
pub struct NamesArgs {
    what: Names,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Names {
    Milestones,
    Issues,
}

/// Commands whose first argument is a milestone.
const MILESTONE_COMMANDS: &str = "plan run resume status report validate worktrees";
/// Commands whose first argument is an issue.
const ISSUE_COMMANDS: &str = "diff";
/// Options whose value is an issue.
const ISSUE_OPTIONS: &str = "--issue --task --retry";

pub fn run(args: &Args) -> anyhow::Result<i32> {
    let mut cmd = super::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "orch", &mut out);
    let mut text = String::from_utf8_lossy(&out).into_owned();
    text.push_str(&dynamic(args.shell));
    use std::io::Write;
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(crate::cli::exit::OK)
}

/// What the script adds to clap's: milestone and issue names from `orch __complete`.
fn dynamic(shell: clap_complete::Shell) -> String {
    use clap_complete::Shell;
    let (m, i, o) = (MILESTONE_COMMANDS, ISSUE_COMMANDS, ISSUE_OPTIONS);
    match shell {
        Shell::Bash => format!(
            r#"
# Milestone and issue names of the repository, from orch itself.
_orch_names() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD-1]}} sub="" w
    for w in "${{COMP_WORDS[@]:1:COMP_CWORD-1}}"; do
        case $w in -*) ;; *) sub=$w; break ;; esac
    done
    local what=""
    if [[ " {o} " == *" $prev "* ]]; then
        what=issues
    elif [[ $cur != -* && $prev != -* && $prev == "$sub" ]]; then
        if [[ " {m} " == *" $sub "* ]]; then what=milestones
        elif [[ " {i} " == *" $sub "* ]]; then what=issues
        fi
    fi
    if [[ -n $what ]]; then
        local IFS=$'\n'
        COMPREPLY=($(compgen -W "$(orch __complete "$what" 2>/dev/null)" -- "$cur"))
        return 0
    fi
    _orch "$@"
}}
complete -F _orch_names -o bashdefault -o default orch
"#
        ),
        Shell::Zsh => format!(
            r#"
# Milestone and issue names of the repository, from orch itself.
_orch_names() {{
    local sub=${{words[2]}} prev=${{words[CURRENT-1]}} cur=${{words[CURRENT]}}
    if [[ " {o} " == *" $prev "* ]]; then
        compadd -- ${{(f)"$(orch __complete issues 2>/dev/null)"}}; return
    fi
    if [[ $CURRENT -eq 3 && $cur != -* ]]; then
        if [[ " {m} " == *" $sub "* ]]; then
            compadd -- ${{(f)"$(orch __complete milestones 2>/dev/null)"}}; return
        elif [[ " {i} " == *" $sub "* ]]; then
            compadd -- ${{(f)"$(orch __complete issues 2>/dev/null)"}}; return
        fi
    fi
    _orch "$@"
}}
compdef _orch_names orch
"#
        ),
        Shell::Fish => {
            let mut out = String::from(
                "\n# Milestone and issue names of the repository, from orch itself.\n",
            );
            out.push_str(&format!(
                "complete -c orch -n \"__fish_seen_subcommand_from {m}\" -f -a \"(orch __complete milestones 2>/dev/null)\"\n"
            ));
            out.push_str(&format!(
                "complete -c orch -n \"__fish_seen_subcommand_from {i}\" -f -a \"(orch __complete issues 2>/dev/null)\"\n"
            ));
            for option in o.split(' ') {
                out.push_str(&format!(
                    "complete -c orch -l {} -x -a \"(orch __complete issues 2>/dev/null)\"\n",
                    option.trim_start_matches("--")
                ));
            }
            out
        }
        _ => String::new(),
    }
}

/// Prints the names `args` asks for: what the docs and the recorded runs know.
pub fn names(global: &GlobalArgs, args: &NamesArgs) -> anyhow::Result<i32> {
    let Ok(ws) = Workspace::open_reading(global) else {
        return Ok(crate::cli::exit::OK);
    };
    let set = ws.load_docs().ok();
    let common_dir = ws.git().map(|repo| repo.common_dir()).ok();
    let mut out: Vec<String> = match args.what {
        Names::Milestones => {
            let mut scopes: Vec<crate::model::naming::Scope> =
                set.map(|s| s.scopes()).unwrap_or_default();
            scopes.extend(
                common_dir
                    .iter()
                    .flat_map(|dir| crate::record::state::scopes(dir)),
            );
            scopes.iter().map(ToString::to_string).collect()
        }
        Names::Issues => set
            .iter()
            .flat_map(|s| s.docs.iter().map(|d| d.id.clone()))
            .chain(
                common_dir
                    .iter()
                    .flat_map(|dir| crate::record::state::all(dir))
                    .flat_map(|r| r.issues.into_iter().map(|i| i.id)),
            )
            .collect(),
    };
    out.sort();
    out.dedup();
    for name in out {
        println!("{name}");
    }
    Ok(crate::cli::exit::OK)
}
