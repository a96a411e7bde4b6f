//! The run's reporters, fanned out from the engine's stamped events: the run state (and the
//! dashboard drawn from it), the event log, the terminal, and the agents' processes for the
//! signal handler. Each writes through [`Report`]; what its failure means is decided here.
//! The state is the resume point: when it cannot be written the run stops. The event log is a
//! record: the run goes on, said once.

use crate::model::event::{Report, Stamped};
use crate::model::phase::AgentProcess;
use crate::report::style::Styler;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub(super) struct Reporters {
    /// The agents running now, for the signal handler.
    pub agents: Arc<Mutex<BTreeMap<String, AgentProcess>>>,
    pub state: crate::record::recorder::StateRecorder,
    pub dashboard: Option<crate::report::dashboard::Dashboard>,
    pub log: crate::record::event_log::EventLog,
    pub terminal: Arc<crate::report::progress::Progress>,
    /// Set once the state could not be written.
    pub state_lost: Arc<AtomicBool>,
    pub log_lost: AtomicBool,
    /// Stops the run (as Ctrl-C does).
    pub stop: Arc<tokio::sync::watch::Sender<bool>>,
    pub style: Styler,
}

impl Reporters {
    /// The state first (the dashboard shows it), then the event log and the terminal.
    fn write(&self, event: &Stamped<'_>) {
        super::agents::track(&self.agents, event.event);
        match self.state.record(event) {
            Ok(Some(state)) => {
                if let Some(dashboard) = &self.dashboard {
                    dashboard.write(&state);
                }
            }
            Ok(None) => {}
            Err(e) => {
                // The dashboard still shows where the run stands, as the state would have.
                if let (Some(dashboard), Some(state)) = (&self.dashboard, self.state.current()) {
                    dashboard.write(&state);
                }
                if !self.state_lost.swap(true, Ordering::SeqCst) {
                    eprintln!(
                        "{} the run state cannot be written ({e}): stopping the run",
                        self.style.red("Error:")
                    );
                }
                let _ = self.stop.send(true);
            }
        }
        if let Err(e) = self.log.write(event) {
            if !self.log_lost.swap(true, Ordering::SeqCst) {
                eprintln!(
                    "{} {e}; the run goes on without it",
                    self.style.yellow("Warning:")
                );
            }
        }
        let _ = self.terminal.write(event);
    }

    /// As the engine's reporter.
    pub fn into_fn(self) -> impl Fn(&Stamped<'_>) + Send + Sync {
        move |event| self.write(event)
    }
}
