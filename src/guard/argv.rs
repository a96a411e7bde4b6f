//! Option parsing close enough to the real parsers that the guard sees the same flags the
//! command will: gt uses yargs, git its parse-options.

/// How many values a gt option takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arity {
    /// Boolean; takes a following `true`/`false`.
    Flag,
    /// Takes the next argument unless it looks like an option.
    Value,
    /// Array: takes every following argument up to the next option.
    Many,
}

/// One option of a gt command.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OptSpec {
    pub short: Option<char>,
    pub long: &'static str,
    pub arity: Arity,
}

pub(crate) const fn flag(long: &'static str) -> OptSpec {
    OptSpec {
        short: None,
        long,
        arity: Arity::Flag,
    }
}

pub(crate) const fn sflag(short: char, long: &'static str) -> OptSpec {
    OptSpec {
        short: Some(short),
        long,
        arity: Arity::Flag,
    }
}

pub(crate) const fn value(long: &'static str) -> OptSpec {
    OptSpec {
        short: None,
        long,
        arity: Arity::Value,
    }
}

pub(crate) const fn svalue(short: char, long: &'static str) -> OptSpec {
    OptSpec {
        short: Some(short),
        long,
        arity: Arity::Value,
    }
}

pub(crate) const fn smany(short: char, long: &'static str) -> OptSpec {
    OptSpec {
        short: Some(short),
        long,
        arity: Arity::Many,
    }
}

/// One option occurrence. `name` is the long name when the command knows the option, else
/// the spelling given (kebab-cased) or the single letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Opt {
    pub name: String,
    pub values: Vec<String>,
    /// `--no-<name>`.
    pub negated: bool,
}

impl Opt {
    /// On: given, not negated, not `=false`.
    fn affirmative(&self) -> bool {
        !self.negated && self.values.last().is_none_or(|v| v != "false")
    }
}

/// gt arguments as yargs reads them.
#[derive(Debug, Clone, Default)]
pub(crate) struct GtArgs {
    pub opts: Vec<Opt>,
    pub positionals: Vec<String>,
}

impl GtArgs {
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Opt> + 'a {
        self.opts.iter().filter(move |o| o.name == name)
    }

    /// Any occurrence turns it on (what a dangerous flag needs).
    pub fn on(&self, name: &str) -> bool {
        self.all(name).any(Opt::affirmative)
    }

    /// Given, and never turned off (what a required flag needs).
    pub fn surely_on(&self, name: &str) -> bool {
        self.all(name).next().is_some() && self.all(name).all(Opt::affirmative)
    }

    /// Given, and every occurrence turns it off (`--no-restack`, `--restack=false`).
    pub fn surely_off(&self, name: &str) -> bool {
        self.all(name).next().is_some() && self.all(name).all(|o| !o.affirmative())
    }

    pub fn present(&self, name: &str) -> bool {
        self.all(name).next().is_some()
    }

    /// Every value given to `name`, in order.
    pub fn values(&self, name: &str) -> Vec<&str> {
        self.opts
            .iter()
            .filter(|o| o.name == name)
            .flat_map(|o| o.values.iter().map(String::as_str))
            .collect()
    }
}

fn looks_like_option(arg: &str) -> bool {
    arg.len() > 1 && arg.starts_with('-') && !is_number(arg)
}

fn is_number(arg: &str) -> bool {
    let digits = arg.strip_prefix('-').unwrap_or(arg);
    !digits.is_empty() && digits.parse::<f64>().is_ok()
}

/// `dryRun` → `dry-run` (yargs accepts both spellings).
fn kebab(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('-');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses gt arguments (command words already removed) against `spec`.
///
/// Follows yargs-parser: `--x=v`; `--no-x`; a boolean takes a following `true`/`false`; a
/// value option takes the next argument unless it looks like an option; an array option takes
/// arguments up to the next option; `-abc` sets `a`, `b` and `c`, except that a letter
/// followed by `=`, a non-word character or a number takes the rest as its value, and the
/// last letter takes a following argument like a long option. Options the spec does not know
/// take a following non-option argument (yargs does so for unknown keys). `--` ends options.
pub(crate) fn parse_gt(args: &[String], spec: &[OptSpec]) -> GtArgs {
    let by_long = |name: &str| spec.iter().find(|s| s.long == name);
    let by_short = |c: char| spec.iter().find(|s| s.short == Some(c));
    let mut out = GtArgs::default();
    let mut i = 0;
    // Takes the value(s) following position `i` for an option of `arity`.
    let take = |i: &mut usize, arity: Option<Arity>, values: &mut Vec<String>| match arity {
        Some(Arity::Flag) => {
            if let Some(next) = args.get(*i + 1) {
                if next == "true" || next == "false" {
                    values.push(next.clone());
                    *i += 1;
                }
            }
        }
        Some(Arity::Many) => {
            while let Some(next) = args.get(*i + 1) {
                if looks_like_option(next) || next == "--" {
                    break;
                }
                values.push(next.clone());
                *i += 1;
            }
        }
        Some(Arity::Value) | None => {
            if let Some(next) = args.get(*i + 1) {
                if !looks_like_option(next) && next != "--" {
                    values.push(next.clone());
                    *i += 1;
                }
            }
        }
    };
    while i < args.len() {
        let arg = &args[i];
        if arg == "--" {
            out.positionals.extend(args[i + 1..].iter().cloned());
            break;
        }
        if let Some(body) = arg.strip_prefix("--").filter(|b| !b.is_empty()) {
            let (raw, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (body, None),
            };
            if let Some(rest) = raw.strip_prefix("no-").filter(|r| !r.is_empty()) {
                let name = kebab(rest);
                let name = by_long(&name).map_or(name, |s| s.long.to_owned());
                out.opts.push(Opt {
                    name,
                    values: Vec::new(),
                    negated: true,
                });
            } else {
                let name = kebab(raw);
                let known = by_long(&name);
                let mut values = Vec::new();
                match inline {
                    Some(v) => values.push(v),
                    None => take(&mut i, known.map(|s| s.arity), &mut values),
                }
                out.opts.push(Opt {
                    name: known.map_or(name, |s| s.long.to_owned()),
                    values,
                    negated: false,
                });
            }
        } else if looks_like_option(arg) {
            let letters: Vec<char> = arg[1..].chars().collect();
            let name_of = |c: char| by_short(c).map_or(c.to_string(), |s| s.long.to_owned());
            let mut j = 0;
            while j < letters.len() {
                let c = letters[j];
                let rest: String = letters[j + 1..].iter().collect();
                let mut values = Vec::new();
                let last = j + 1 == letters.len();
                let stop = if let Some(v) = rest.strip_prefix('=') {
                    values.push(v.to_owned());
                    true
                } else if !last
                    && (is_number(&rest)
                        || !letters[j + 1].is_alphanumeric() && letters[j + 1] != '_')
                {
                    values.push(rest);
                    true
                } else {
                    if last {
                        take(&mut i, by_short(c).map(|s| s.arity), &mut values);
                    }
                    false
                };
                out.opts.push(Opt {
                    name: name_of(c),
                    values,
                    negated: false,
                });
                if stop {
                    break;
                }
                j += 1;
            }
        } else {
            out.positionals.push(arg.clone());
        }
        i += 1;
    }
    out
}

/// git arguments as parse-options reads them (options and arguments may mix).
#[derive(Debug, Clone, Default)]
pub(crate) struct GitArgs {
    /// `(name, value)`: long names without `--` (possibly abbreviated, as given), short ones
    /// as the letter.
    pub opts: Vec<(String, Option<String>)>,
    /// Non-option arguments before `--`.
    pub positionals: Vec<String>,
    /// Arguments after `--`.
    pub after_dashdash: Vec<String>,
}

impl GitArgs {
    /// Whether a long option that git would read as `full` was given (git accepts any
    /// unambiguous prefix; an ambiguous one is an error, so matching every prefix is safe).
    pub fn long(&self, full: &str) -> bool {
        self.opts
            .iter()
            .any(|(n, _)| n.len() > 1 && full.starts_with(n.as_str()))
    }

    pub fn short(&self, c: char) -> bool {
        let mut buf = [0u8; 4];
        let s: &str = c.encode_utf8(&mut buf);
        self.opts.iter().any(|(n, _)| n == s)
    }

    /// `-c` or any spelling of `--long`.
    pub fn either(&self, c: char, full: &str) -> bool {
        self.short(c) || self.long(full)
    }

    /// Values given to `-c` or `--full` (exact long name).
    pub fn values_of(&self, c: char, full: Option<&str>) -> Vec<&str> {
        self.opts
            .iter()
            .filter(|(n, _)| Some(n.as_str()) == full || n.chars().eq(std::iter::once(c)))
            .filter_map(|(_, v)| v.as_deref())
            .collect()
    }
}

/// Parses git subcommand arguments. `short_values` are letters taking a value (attached, or
/// the next argument); `long_values` are long options taking the next argument when written
/// without `=`.
pub(crate) fn parse_git(args: &[String], short_values: &[char], long_values: &[&str]) -> GitArgs {
    let mut out = GitArgs::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if arg == "--" {
            out.after_dashdash.extend(args[i + 1..].iter().cloned());
            break;
        }
        if let Some(body) = arg.strip_prefix("--") {
            match body.split_once('=') {
                Some((n, v)) => out.opts.push((n.to_owned(), Some(v.to_owned()))),
                None => {
                    let mut v = None;
                    if long_values.contains(&body) && i + 1 < args.len() {
                        i += 1;
                        v = Some(args[i].clone());
                    }
                    out.opts.push((body.to_owned(), v));
                }
            }
        } else if arg.len() > 1 && arg.starts_with('-') {
            let letters: Vec<char> = arg[1..].chars().collect();
            for (j, c) in letters.iter().enumerate() {
                if short_values.contains(c) {
                    let rest: String = letters[j + 1..].iter().collect();
                    let v = if !rest.is_empty() {
                        Some(rest)
                    } else if i + 1 < args.len() {
                        i += 1;
                        Some(args[i].clone())
                    } else {
                        None
                    };
                    out.opts.push((c.to_string(), v));
                    break;
                }
                out.opts.push((c.to_string(), None));
            }
        } else {
            out.positionals.push(arg.clone());
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split(' ')
            .filter(|w| !w.is_empty())
            .map(String::from)
            .collect()
    }

    const SPEC: &[OptSpec] = &[
        smany('m', "message"),
        sflag('a', "all"),
        sflag('i', "insert"),
        sflag('f', "force"),
        svalue('o', "onto"),
        sflag('d', "draft"),
        flag("restack"),
    ];

    #[test]
    fn yargs_short_groups_and_values() {
        let a = parse_gt(&v("name -am one two -o base"), SPEC);
        assert!(a.on("all"));
        assert_eq!(a.values("message"), ["one", "two"]);
        assert_eq!(a.values("onto"), ["base"]);
        assert_eq!(a.positionals, ["name"]);
        // Letters after a flag letter are more flags, as in yargs.
        let a = parse_gt(&v("-mfix"), SPEC);
        assert!(a.on("force") && a.on("insert") && a.present("x"));
        let a = parse_gt(&v("-o=base -d false"), SPEC);
        assert_eq!(a.values("onto"), ["base"]);
        assert!(!a.on("draft") && a.surely_off("draft"));
    }

    #[test]
    fn yargs_long_forms() {
        let a = parse_gt(&v("--no-restack --dryRun --onto=x --draft=true"), SPEC);
        assert!(a.surely_off("restack"));
        assert!(a.on("dry-run"));
        assert_eq!(a.values("onto"), ["x"]);
        assert!(a.surely_on("draft"));
        let a = parse_gt(&v("--draft --no-draft"), SPEC);
        assert!(a.on("draft") && !a.surely_on("draft"));
        let a = parse_gt(&v("-- --force"), SPEC);
        assert!(!a.on("force"));
        assert_eq!(a.positionals, ["--force"]);
    }

    #[test]
    fn git_bundles_and_values() {
        let a = parse_git(
            &v("-fu origin -oci=1 --repo=x --exec y main"),
            &['o'],
            &["exec"],
        );
        assert!(a.short('f') && a.short('u'));
        assert_eq!(a.values_of('o', Some("push-option")), ["ci=1"]);
        assert_eq!(a.positionals, ["origin", "main"]);
        assert!(!a.long("force-with-lease"));
        let a = parse_git(&v("--forc"), &[], &[]);
        assert!(a.long("force"));
    }
}
