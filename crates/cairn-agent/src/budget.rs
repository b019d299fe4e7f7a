//! The [`Budget`] of one agent: what its requests cost, its sub-agents' spend, the
//! spend it inherited from a parent, and a limit a sub-agent stopped at. Everything
//! the spending limits count lives here.

use std::sync::{Arc, Mutex};

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

/// One sub-agent of a session, for `/info`'s per-child lines.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChildCost {
    pub session: String,
    pub title: Option<String>,
    pub cost_usd: f64,
}

/// What the sub-agents running side by side (one answer's calls) have spent so far,
/// one slot each: each counts its siblings' spend toward the limits it checks.
#[derive(Clone, Debug, Default)]
pub(crate) struct SiblingSpend {
    slots: Arc<Mutex<Vec<f64>>>,
    me: usize,
}

impl SiblingSpend {
    /// Slots for `n` siblings; [`SiblingSpend::member`] hands out each one's view.
    pub(crate) fn new(n: usize) -> Self {
        SiblingSpend {
            slots: Arc::new(Mutex::new(vec![0.0; n])),
            me: 0,
        }
    }

    pub(crate) fn member(&self, me: usize) -> Self {
        SiblingSpend {
            slots: self.slots.clone(),
            me,
        }
    }

    fn report(&self, usd: f64) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = slots.get_mut(self.me) {
            *slot = usd;
        }
    }

    fn others(&self) -> f64 {
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != self.me)
            .map(|(_, usd)| usd)
            .sum()
    }
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
    /// For a sub-agent run beside others: what they spent so far.
    siblings: Option<SiblingSpend>,
    /// This session's sub-agents one by one (for `/info`).
    children: Vec<ChildCost>,
}

impl Budget {
    pub(crate) fn new(settings: &Settings, inherited_spent_usd: f64) -> Self {
        Budget {
            spending: Spending::new(settings),
            subagents: SubagentTotals::default(),
            inherited_spent_usd,
            pending_limit: None,
            siblings: None,
            children: Vec::new(),
        }
    }

    /// Count what `siblings` spend toward this agent's limits.
    pub(crate) fn run_beside(&mut self, siblings: SiblingSpend) {
        self.siblings = Some(siblings);
    }

    /// After each answer: tell the siblings what this agent has spent.
    pub(crate) fn report_spend(&self, session: &Session) {
        if let Some(siblings) = &self.siblings {
            siblings.report(session.cost_usd + self.subagents.cost_usd);
        }
    }

    /// What this agent spent itself, its sub-agents included (a sub-agent's session is
    /// new, so this is what the call spent).
    pub(crate) fn own_spend(&self, session: &Session) -> f64 {
        session.cost_usd + self.subagents.cost_usd
    }

    pub(crate) fn children(&self) -> &[ChildCost] {
        &self.children
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
    pub(crate) fn attached(&mut self, subagents: SubagentTotals, children: Vec<ChildCost>) {
        self.subagents = subagents;
        self.children = children;
        self.pending_limit = None;
    }

    pub(crate) fn subagents(&self) -> SubagentTotals {
        self.subagents
    }

    pub(crate) fn subagent_started(&mut self) {
        self.subagents.count += 1;
    }

    pub(crate) fn subagent_spent(&mut self, child: ChildCost) {
        self.subagents.cost_usd += child.cost_usd;
        self.children.push(child);
    }

    /// What counts toward the spending limits now: the session's cost and its
    /// sub-agents' since the spending checkpoint (plus, for a sub-agent, its parent's).
    pub(crate) fn spent_since_checkpoint(&self, session: &Session) -> f64 {
        let siblings = self.siblings.as_ref().map_or(0.0, SiblingSpend::others);
        (session.cost_usd + self.subagents.cost_usd + self.inherited_spent_usd + siblings
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
