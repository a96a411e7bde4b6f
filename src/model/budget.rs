//! Budgets as data: the limits a run is held to, what a phase is reserved before it starts,
//! what stopped an issue, and the pure decision whether a phase may start. Tokens are input
//! plus output (cached input is part of input); dollars come from a pricing table.

use serde::{Deserialize, Serialize};

/// The limits of a run (each `None`: no limit). Kept in the run state: a resume keeps them
/// unless told new ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_usd: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_usd: Option<f64>,
    /// What a phase is reserved before any phase of its kind has run in this run.
    pub reserve_tokens: u64,
}

impl Limits {
    pub fn any(&self) -> bool {
        self.run_tokens.is_some()
            || self.run_usd.is_some()
            || self.issue_tokens.is_some()
            || self.issue_usd.is_some()
    }

    pub fn uses_dollars(&self) -> bool {
        self.run_usd.is_some() || self.issue_usd.is_some()
    }

    /// `100 tokens, $2.50 for the run; 40 tokens per issue`, or `none`.
    pub fn describe(&self) -> String {
        let part = |tokens: Option<u64>, usd: Option<f64>| {
            let mut parts = Vec::new();
            if let Some(t) = tokens {
                parts.push(format!("{t} tokens"));
            }
            if let Some(u) = usd {
                parts.push(format!("${u:.2}"));
            }
            (!parts.is_empty()).then(|| parts.join(", "))
        };
        let mut out = Vec::new();
        if let Some(run) = part(self.run_tokens, self.run_usd) {
            out.push(format!("{run} for the run"));
        }
        if let Some(issue) = part(self.issue_tokens, self.issue_usd) {
            out.push(format!("{issue} per issue"));
        }
        if out.is_empty() {
            return "none".to_owned();
        }
        format!(
            "{}; a phase is reserved {} tokens until one of its kind has run",
            out.join("; "),
            self.reserve_tokens
        )
    }
}

/// Tokens and, where priced, dollars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Spend {
    pub tokens: u64,
    #[serde(default)]
    pub usd: f64,
}

impl std::ops::Add for Spend {
    type Output = Spend;
    fn add(self, o: Spend) -> Spend {
        Spend {
            tokens: self.tokens + o.tokens,
            usd: self.usd + o.usd,
        }
    }
}

impl Spend {
    /// The larger of each.
    pub fn max(self, o: Spend) -> Spend {
        Spend {
            tokens: self.tokens.max(o.tokens),
            usd: self.usd.max(o.usd),
        }
    }
}

/// Whose budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The whole run's: nothing more starts.
    Run,
    /// This issue's: the others go on.
    Issue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Tokens,
    Usd,
}

/// A budget that a phase did not fit in.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BudgetStop {
    pub scope: Scope,
    pub unit: Unit,
    /// Spent so far (and, for the run, reserved by phases in flight).
    pub spent: f64,
    /// What the phase that did not start was reserved.
    pub reserve: f64,
    pub limit: f64,
}

impl BudgetStop {
    /// `the run's budget: 88 of 100 tokens spent, the next phase may take 22`.
    pub fn describe(&self) -> String {
        let whose = match self.scope {
            Scope::Run => "the run's",
            Scope::Issue => "the issue's",
        };
        let amount = |v: f64| match self.unit {
            Unit::Tokens => format!("{}", v.round() as u64),
            Unit::Usd => format!("${v:.2}"),
        };
        let unit = match self.unit {
            Unit::Tokens => " tokens",
            Unit::Usd => "",
        };
        format!(
            "{whose} budget: {} of {}{unit} spent, the next phase may take {}",
            amount(self.spent),
            amount(self.limit),
            amount(self.reserve)
        )
    }

    /// The flag that raises this budget on `orch resume`.
    pub fn flag(&self) -> &'static str {
        match (self.scope, self.unit) {
            (Scope::Run, Unit::Tokens) => "--budget-tokens",
            (Scope::Run, Unit::Usd) => "--budget-usd",
            (Scope::Issue, Unit::Tokens) => "--issue-budget-tokens",
            (Scope::Issue, Unit::Usd) => "--issue-budget-usd",
        }
    }
}

/// Whether a phase reserved `reserve` may start: the run's spend plus what phases in flight
/// hold plus the reserve must fit in the run's limits, and the issue's spend plus the reserve
/// in the issue's. The first limit it does not fit in, if any.
pub fn admit(
    limits: &Limits,
    run: Spend,
    in_flight: Spend,
    issue: Spend,
    reserve: Spend,
) -> Result<(), BudgetStop> {
    let checks = [
        (
            Scope::Run,
            Unit::Tokens,
            limits.run_tokens.map(|l| l as f64),
            (run.tokens + in_flight.tokens) as f64,
            reserve.tokens as f64,
        ),
        (
            Scope::Run,
            Unit::Usd,
            limits.run_usd,
            run.usd + in_flight.usd,
            reserve.usd,
        ),
        (
            Scope::Issue,
            Unit::Tokens,
            limits.issue_tokens.map(|l| l as f64),
            issue.tokens as f64,
            reserve.tokens as f64,
        ),
        (
            Scope::Issue,
            Unit::Usd,
            limits.issue_usd,
            issue.usd,
            reserve.usd,
        ),
    ];
    for (scope, unit, limit, spent, reserve) in checks {
        if let Some(limit) = limit {
            if spent + reserve > limit {
                return Err(BudgetStop {
                    scope,
                    unit,
                    spent,
                    reserve,
                    limit,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phase_starts_only_when_its_reserve_fits() {
        let tokens = |t| Spend {
            tokens: t,
            usd: 0.0,
        };
        let run_limit = Limits {
            run_tokens: Some(100),
            ..Limits::default()
        };
        let issue_limit = Limits {
            issue_tokens: Some(50),
            ..Limits::default()
        };
        let usd_limit = Limits {
            run_usd: Some(1.0),
            ..Limits::default()
        };
        let usd = |u| Spend { tokens: 0, usd: u };
        type Row = (
            &'static str,
            Limits,
            Spend,
            Spend,
            Spend,
            Spend,
            Option<(Scope, Unit)>,
        );
        let rows: Vec<Row> = vec![
            (
                "no limits",
                Limits::default(),
                tokens(10_000),
                tokens(0),
                tokens(0),
                tokens(1),
                None,
            ),
            (
                "fits exactly",
                run_limit,
                tokens(60),
                tokens(0),
                tokens(60),
                tokens(40),
                None,
            ),
            (
                "one over",
                run_limit,
                tokens(60),
                tokens(0),
                tokens(60),
                tokens(41),
                Some((Scope::Run, Unit::Tokens)),
            ),
            (
                "phases in flight hold their reserve",
                run_limit,
                tokens(30),
                tokens(50),
                tokens(0),
                tokens(30),
                Some((Scope::Run, Unit::Tokens)),
            ),
            (
                "the issue's own budget",
                issue_limit,
                tokens(500),
                tokens(0),
                tokens(30),
                tokens(21),
                Some((Scope::Issue, Unit::Tokens)),
            ),
            (
                "other issues' spend is not the issue's",
                issue_limit,
                tokens(500),
                tokens(300),
                tokens(0),
                tokens(50),
                None,
            ),
            (
                "dollars",
                usd_limit,
                usd(0.75),
                usd(0.0),
                usd(0.0),
                usd(0.3),
                Some((Scope::Run, Unit::Usd)),
            ),
            (
                "dollars that fit",
                usd_limit,
                usd(0.5),
                usd(0.0),
                usd(0.0),
                usd(0.5),
                None,
            ),
        ];
        for (name, limits, run, in_flight, issue, reserve, want) in rows {
            let got = admit(&limits, run, in_flight, issue, reserve)
                .err()
                .map(|s| (s.scope, s.unit));
            assert_eq!(got, want, "{name}");
        }
        let stop = admit(&run_limit, tokens(88), tokens(0), tokens(0), tokens(22)).unwrap_err();
        assert_eq!(
            stop.describe(),
            "the run's budget: 88 of 100 tokens spent, the next phase may take 22"
        );
        assert_eq!(stop.flag(), "--budget-tokens");
    }
}
