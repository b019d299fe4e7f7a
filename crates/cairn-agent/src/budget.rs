//! The [`Budget`] of one agent: what its requests cost, its sub-agents' spend, the
//! spend it inherited from a parent, and a limit a sub-agent stopped at. Everything
//! the spending limits count lives here.

use cairn_core::settings::Settings;
use cairn_core::{Session, Usage};
use cairn_llm::ModelRef;
use serde::Serialize;

use crate::spending::{LimitHit, RequestCost, Spending};

/// A session's sub-agents over all its runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct SubagentTotals {
    pub count: u64,
    pub cost_usd: f64,
}

pub(crate) struct Budget {
    spending: Spending,
    /// This session's sub-agents: how many, and what they cost (counted toward its
    /// spending limits).
    subagents: SubagentTotals,
    /// Spend counted toward this agent's limits that is not in its own session: for a
    /// sub-agent, what its parent had spent since its checkpoint when it started.
    inherited_spent_usd: f64,
    /// A limit a sub-agent stopped at; this agent's next spending gate raises it.
    pending_limit: Option<LimitHit>,
}

impl Budget {
    pub(crate) fn new(settings: &Settings, inherited_spent_usd: f64) -> Self {
        Budget {
            spending: Spending::new(settings),
            subagents: SubagentTotals::default(),
            inherited_spent_usd,
            pending_limit: None,
        }
    }

    /// The prices (for estimates before a request is sent).
    pub(crate) fn spending(&self) -> &Spending {
        &self.spending
    }

    /// Price a request that was answered (notes an unpriced model once).
    pub(crate) fn cost(&mut self, model: &ModelRef, usage: &Usage) -> RequestCost {
        self.spending.cost(model, usage)
    }

    /// A session was (re)attached: its sub-agents as stored, no limit held over.
    pub(crate) fn attached(&mut self, subagents: SubagentTotals) {
        self.subagents = subagents;
        self.pending_limit = None;
    }

    pub(crate) fn subagents(&self) -> SubagentTotals {
        self.subagents
    }

    pub(crate) fn subagent_started(&mut self) {
        self.subagents.count += 1;
    }

    pub(crate) fn subagent_spent(&mut self, usd: f64) {
        self.subagents.cost_usd += usd;
    }

    /// What counts toward the spending limits now: the session's cost and its
    /// sub-agents' since the spending checkpoint (plus, for a sub-agent, its parent's).
    pub(crate) fn spent_since_checkpoint(&self, session: &Session) -> f64 {
        (session.cost_usd + self.subagents.cost_usd + self.inherited_spent_usd
            - session.spend_checkpoint_usd)
            .max(0.0)
    }

    /// The spend checkpoint that makes the limits count again from now (sub-agents'
    /// spend included).
    pub(crate) fn checkpoint_now(&self, session: &Session) -> f64 {
        session.cost_usd + self.subagents.cost_usd
    }

    /// Keep a limit a sub-agent stopped at for the next spending gate.
    pub(crate) fn hold_limit(&mut self, hit: LimitHit) {
        self.pending_limit = Some(hit);
    }

    pub(crate) fn take_limit(&mut self) -> Option<LimitHit> {
        self.pending_limit.take()
    }
}
