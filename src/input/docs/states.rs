//! What an issue's `state:` means for a run. Done-like states skip the issue and satisfy its
//! dependents; not-ready states (`future`, `backlog`, …) are not run unless the run names them
//! (`--include-state`); the rest run. Both lists can be replaced in `orch.toml`
//! (`done_states`, `not_ready_states`); a state in none of the lists runs, with a warning.
//!
//! States compare loosely: case, and `-` or ` ` against `_`, do not matter (`in-progress` is
//! `in_progress`).

/// Default `done_states`.
pub const DEFAULT_DONE: &[&str] = &[
    "done",
    "completed",
    "complete",
    "landed",
    "merged",
    "closed",
    "canceled",
    "cancelled",
    "wontfix",
    "duplicate",
];

/// Default `not_ready_states`.
pub const DEFAULT_NOT_READY: &[&str] = &["future", "deferred", "backlog", "icebox", "someday"];

/// States that run, and are known (no warning).
pub const ACTIVE: &[&str] = &[
    "planned",
    "todo",
    "ready",
    "open",
    "new",
    "started",
    "in_progress",
    "in_review",
    "review",
    "blocked",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateClass {
    /// Finished (or never to be done): skipped, and its dependents may proceed.
    Done,
    /// Not to be started yet: skipped unless the run includes the state.
    NotReady,
    /// Runs (also when there is no `state:` at all).
    Active,
    /// Not a state orch knows: runs, with a warning.
    Unknown,
}

/// The state vocabulary of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateRules {
    done: Vec<String>,
    not_ready: Vec<String>,
    /// Not-ready states this run runs anyway (`--include-state`).
    include: Vec<String>,
}

impl Default for StateRules {
    fn default() -> Self {
        StateRules::new(None, None, &[])
    }
}

impl StateRules {
    /// The lists from `orch.toml` (`None`: the defaults) and the states a run includes.
    pub fn new(
        done: Option<&[String]>,
        not_ready: Option<&[String]>,
        include: &[String],
    ) -> StateRules {
        let list = |given: Option<&[String]>, default: &[&str]| -> Vec<String> {
            match given {
                Some(v) => v.iter().map(|s| normalize(s)).collect(),
                None => default.iter().map(|s| (*s).to_owned()).collect(),
            }
        };
        StateRules {
            done: list(done, DEFAULT_DONE),
            not_ready: list(not_ready, DEFAULT_NOT_READY),
            include: include.iter().map(|s| normalize(s)).collect(),
        }
    }

    pub fn class(&self, state: Option<&str>) -> StateClass {
        let state = match state.map(str::trim) {
            None | Some("") => return StateClass::Active,
            // Most states are written as orch compares them: no need to make a copy.
            Some(s) if s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') => {
                std::borrow::Cow::Borrowed(s)
            }
            Some(s) => std::borrow::Cow::Owned(normalize(s)),
        };
        let state = state.as_ref();
        if self.done.iter().any(|d| d == state) {
            StateClass::Done
        } else if self.not_ready.iter().any(|d| d == state) {
            StateClass::NotReady
        } else if ACTIVE.contains(&state) {
            StateClass::Active
        } else {
            StateClass::Unknown
        }
    }

    pub fn is_done(&self, state: Option<&str>) -> bool {
        self.class(state) == StateClass::Done
    }

    /// Why an issue in `state` is not run, or `None` when it runs.
    pub fn skip_reason(&self, state: Option<&str>) -> Option<String> {
        let shown = state.unwrap_or_default().trim();
        match self.class(state) {
            StateClass::Done => Some(format!("state is `{shown}`")),
            StateClass::NotReady if !self.include.contains(&normalize(shown)) => Some(format!(
                "state is `{shown}` (not ready; `--include-state {shown}` runs it)"
            )),
            _ => None,
        }
    }

    /// The states orch knows, for the warning about one it does not.
    pub fn known(&self) -> Vec<String> {
        let mut all: Vec<String> = ACTIVE.iter().map(|s| (*s).to_owned()).collect();
        all.extend(self.not_ready.iter().cloned());
        all.extend(self.done.iter().cloned());
        all.dedup();
        all
    }

    /// An `--include-state` value that names no not-ready state, if there is one.
    pub fn unknown_include(&self) -> Option<&str> {
        self.include
            .iter()
            .find(|s| !self.not_ready.contains(s))
            .map(String::as_str)
    }

    pub fn not_ready(&self) -> &[String] {
        &self.not_ready
    }
}

/// `In-Progress` → `in_progress`.
pub fn normalize(state: &str) -> String {
    state.trim().to_ascii_lowercase().replace([' ', '-'], "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_vocabulary() {
        let rules = StateRules::default();
        let table = [
            (None, StateClass::Active),
            (Some("planned"), StateClass::Active),
            (Some("in-progress"), StateClass::Active),
            (Some("In_Progress"), StateClass::Active),
            (Some("landed"), StateClass::Done),
            (Some("Cancelled"), StateClass::Done),
            (Some("wontfix"), StateClass::Done),
            (Some("future"), StateClass::NotReady),
            (Some("backlog"), StateClass::NotReady),
            (Some("doing"), StateClass::Unknown),
            (Some(" "), StateClass::Active),
        ];
        for (state, want) in table {
            assert_eq!(rules.class(state), want, "{state:?}");
        }
        assert_eq!(
            rules.skip_reason(Some("landed")).as_deref(),
            Some("state is `landed`")
        );
        assert!(rules
            .skip_reason(Some("future"))
            .unwrap()
            .contains("--include-state future"));
        assert_eq!(rules.skip_reason(Some("doing")), None);
    }

    #[test]
    fn configured_lists_replace_the_defaults_and_includes_run() {
        let done = vec!["Shipped".to_owned()];
        let rules = StateRules::new(Some(&done), None, &["Future".to_owned()]);
        assert_eq!(rules.class(Some("shipped")), StateClass::Done);
        assert_eq!(rules.class(Some("done")), StateClass::Unknown);
        assert_eq!(rules.skip_reason(Some("future")), None);
        assert!(rules.skip_reason(Some("backlog")).is_some());
        assert_eq!(rules.unknown_include(), None);
        let bad = StateRules::new(None, None, &["done".to_owned()]);
        assert_eq!(bad.unknown_include(), Some("done"));
    }
}
