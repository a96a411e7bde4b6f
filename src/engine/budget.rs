//! The run's budget as it is spent: what each issue and the run have spent (seeded from the
//! recorded phases on a resume, so the count never resets), what the phases in flight hold
//! in reserve, and the largest phase of each kind so far (a phase's reserve). Before a phase
//! starts it reserves; when it ends its real spend replaces the reserve. The decision itself
//! is [`crate::model::budget::admit`].

use crate::model::budget::{self, BudgetStop, Limits, Scope, Spend};
use crate::model::phase::{PhaseKind, Usage};
use crate::model::state::RunState;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Prices a phase's usage in dollars (0 when the run has no dollar budget).
pub(super) type Pricer = Box<dyn Fn(&Usage) -> f64 + Send + Sync>;

pub(super) struct Budget {
    limits: Limits,
    price: Pricer,
    /// The pricer knows the model's price (else it says 0).
    priced: bool,
    ledger: Mutex<Ledger>,
}

#[derive(Default)]
struct Ledger {
    run: Spend,
    issues: BTreeMap<String, Spend>,
    largest: BTreeMap<&'static str, Spend>,
    in_flight: Spend,
    /// A run budget was found too small: nothing more starts.
    exhausted: bool,
}

impl Budget {
    /// The budget of a run under `limits`, having spent what `prior` (the run resumed)
    /// recorded.
    pub fn new(limits: Limits, price: Option<Pricer>, prior: Option<&RunState>) -> Budget {
        let priced = price.is_some();
        let price = price.unwrap_or_else(|| Box::new(|_| 0.0));
        let mut ledger = Ledger::default();
        for issue in prior.iter().flat_map(|s| &s.issues) {
            for phase in &issue.phases {
                let spend = spend_of(&price, &phase.usage);
                ledger.add(&issue.id, phase.phase, spend);
            }
        }
        Budget {
            limits,
            price,
            priced,
            ledger: Mutex::new(ledger),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Ledger) -> T) -> T {
        f(&mut self.ledger.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// What `usage` costs, when the model has a price.
    pub fn cost(&self, usage: &Usage) -> Option<f64> {
        self.priced.then(|| (self.price)(usage))
    }

    /// Reserves what a phase of `kind` of `issue` may spend — the largest of its kind so
    /// far, else the configured reserve — or says which budget it does not fit in. With no
    /// limits, nothing is reserved.
    pub fn reserve(&self, issue: &str, kind: PhaseKind) -> Result<Spend, BudgetStop> {
        if !self.limits.any() {
            return Ok(Spend::default());
        }
        let fallback = Spend {
            tokens: self.limits.reserve_tokens,
            usd: (self.price)(&Usage {
                input_tokens: self.limits.reserve_tokens,
                output_tokens: 0,
                ..Usage::default()
            })
            .max((self.price)(&Usage {
                output_tokens: self.limits.reserve_tokens,
                ..Usage::default()
            })),
        };
        self.with(|l| {
            let reserve = l.largest.get(kind.name()).copied().unwrap_or(fallback);
            let issue_spent = l.issues.get(issue).copied().unwrap_or_default();
            let admitted = budget::admit(&self.limits, l.run, l.in_flight, issue_spent, reserve);
            match admitted {
                Ok(()) => {
                    l.in_flight = l.in_flight + reserve;
                    Ok(reserve)
                }
                Err(stop) => {
                    l.exhausted |= stop.scope == Scope::Run;
                    Err(stop)
                }
            }
        })
    }

    /// The phase that reserved `reserve` spent `usage`. A spend that takes the run past a
    /// limit (an agent reports only at the end of its turn) is the stop it caused.
    pub fn settle(
        &self,
        issue: &str,
        kind: PhaseKind,
        reserve: Spend,
        usage: &Usage,
    ) -> Option<BudgetStop> {
        let spend = spend_of(&self.price, usage);
        self.with(|l| {
            l.in_flight = Spend {
                tokens: l.in_flight.tokens.saturating_sub(reserve.tokens),
                usd: (l.in_flight.usd - reserve.usd).max(0.0),
            };
            l.add(issue, kind, spend);
            if !self.limits.any() {
                return None;
            }
            let issue_spent = l.issues.get(issue).copied().unwrap_or_default();
            let nothing = Spend::default();
            let over = budget::admit(&self.limits, l.run, nothing, issue_spent, nothing).err();
            if let Some(stop) = &over {
                l.exhausted |= stop.scope == Scope::Run;
            }
            over
        })
    }

    /// Gives back what retries held (their spend counts with the phase's, at its settle).
    pub fn release(&self, held: Spend) {
        self.with(|l| {
            l.in_flight = Spend {
                tokens: l.in_flight.tokens.saturating_sub(held.tokens),
                usd: (l.in_flight.usd - held.usd).max(0.0),
            };
        })
    }

    /// What `issue` may still spend: the least of what the run's and the issue's limits
    /// leave, in tokens and in dollars (`None`: no such limit). What a runner is given as its
    /// share.
    pub fn left(&self, issue: &str) -> (Option<u64>, Option<f64>) {
        fn least<T: PartialOrd>(a: Option<T>, b: Option<T>) -> Option<T> {
            match (a, b) {
                (Some(a), Some(b)) => Some(if b < a { b } else { a }),
                (a, b) => a.or(b),
            }
        }
        let limits = &self.limits;
        self.with(|l| {
            let spent = l.issues.get(issue).copied().unwrap_or_default();
            let tokens = least(
                (limits.run_tokens).map(|t| t.saturating_sub(l.run.tokens + l.in_flight.tokens)),
                (limits.issue_tokens).map(|t| t.saturating_sub(spent.tokens)),
            );
            let usd = least(
                (limits.run_usd).map(|u| (u - l.run.usd - l.in_flight.usd).max(0.0)),
                (limits.issue_usd).map(|u| (u - spent.usd).max(0.0)),
            );
            (tokens, usd)
        })
    }

    /// Holds `more` in flight (a runner's share, beyond its reserve), to give back with
    /// [`Budget::release`].
    pub fn hold(&self, more: Spend) -> Spend {
        self.with(|l| l.in_flight = l.in_flight + more);
        more
    }

    /// A run budget is spent: no issue starts any more.
    pub fn exhausted(&self) -> bool {
        self.with(|l| l.exhausted)
    }

    /// What the run has spent.
    pub fn spent(&self) -> Spend {
        self.with(|l| l.run)
    }
}

impl Ledger {
    fn add(&mut self, issue: &str, kind: PhaseKind, spend: Spend) {
        self.run = self.run + spend;
        let entry = self.issues.entry(issue.to_owned()).or_default();
        *entry = *entry + spend;
        let largest = self.largest.entry(kind.name()).or_default();
        *largest = largest.max(spend);
    }
}

fn spend_of(price: &Pricer, usage: &Usage) -> Spend {
    Spend {
        tokens: usage.total(),
        usd: price(usage),
    }
}
