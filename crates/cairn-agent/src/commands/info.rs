//! `/info`: tokens by kind, cost of the last request and of the session, context size
//! against the model's window, compactions.

use crate::compression::effective_levels;
use cairn_core::display::grouped;
use cairn_core::live_messages::retained_knowledge;
use serde_json::{Value, json};

use super::Output;
use crate::agent::Agent;
use crate::compress::compaction_totals;

pub(super) fn run(agent: &Agent) -> Option<Output> {
    let s = agent.conversation.session();
    let u = &s.usage;
    let window = agent.model.context_window();
    let context = match window {
        Some(w) => format!(
            "{} of {} tokens ({:.1}%)",
            grouped(s.live_tokens),
            grouped(w),
            s.live_tokens as f64 * 100.0 / w as f64
        ),
        None => format!(
            "{} tokens (window of {} unknown)",
            grouped(s.live_tokens),
            agent.model
        ),
    };
    let last = match agent.last_request() {
        Some(r) => format!(
            "${:.4}{} ({} in, {} out, {} cached)",
            r.cost_usd,
            if r.priced { "" } else { " (no price known)" },
            grouped(r.usage.input_tokens),
            grouped(r.usage.output_tokens + r.usage.reasoning_tokens),
            grouped(r.usage.cache_read_tokens)
        ),
        None => "none yet in this run".to_owned(),
    };
    let settings = &agent.options.settings;
    let limit = |v: Option<f64>| v.map_or("none".to_owned(), |v| format!("${v:.2}"));
    let text = format!(
        "Session   {name}{title}\n\
         Project   {project}\n\
         Model     {model}\n\
         Messages  {messages} ({tools} tool calls)\n\
         Tokens    input {input} · output {output} · cached {cached} · cache-write {write} · reasoning {reasoning}\n\
         Cost      last request {last}\n          \
                   session ${cost:.4} (${since:.4} since the spending checkpoint; limits: session {ls}, request {lr})\n\
         Sub-agents {subagents}\n\
         Context   {context}\n\
         Compactions {compactions}",
        name = s.name.as_str(),
        title = s
            .title
            .as_deref()
            .map(|t| format!(" — {t}"))
            .unwrap_or_default(),
        project = s.project,
        model = agent.model,
        messages = s.message_count,
        tools = s.tool_call_count,
        input = grouped(u.input_tokens),
        output = grouped(u.output_tokens),
        cached = grouped(u.cache_read_tokens),
        write = grouped(u.cache_write_tokens),
        reasoning = grouped(u.reasoning_tokens),
        cost = s.cost_usd,
        since = agent.spent_since_checkpoint(),
        subagents = match agent.subagents() {
            t if t.count == 0 => "none".to_owned(),
            t => format!(
                "{} run, cost ${:.4} (counted toward the spending limits){}",
                t.count,
                t.cost_usd,
                per_child(agent)
            ),
        },
        ls = limit(settings.max_session_spending_threshold),
        lr = limit(settings.max_request_spending_threshold),
        compactions = s.compaction_count,
    );
    let data = json!({
        "session": s.name.as_str(),
        "project": s.project.as_str(),
        "model": agent.model,
        "messages": s.message_count,
        "tool_calls": s.tool_call_count,
        "usage": u,
        "cost_usd": s.cost_usd,
        "spend_checkpoint_usd": s.spend_checkpoint_usd,
        "last_request": agent.last_request().map(|r| json!({
            "model": r.model, "usage": r.usage, "cost_usd": r.cost_usd, "priced": r.priced,
        })),
        "live_tokens": s.live_tokens,
        "context_window": window,
        "compactions": s.compaction_count,
        "subagents": agent.subagents(),
        "subagent_costs": agent.subagent_costs(),
        "spent_since_checkpoint_usd": agent.spent_since_checkpoint(),
    });
    // Pressure levels, compactions, tokens saved, the compressor's own cost.
    let (compression, compression_data) = compression(agent);
    let mut data = data;
    data["compression"] = compression_data;
    Output::new(format!("{text}\n{compression}"), data)
}

/// One line per sub-agent: its session, what it cost (its own sub-agents included)
/// and its task.
fn per_child(agent: &Agent) -> String {
    agent
        .subagent_costs()
        .iter()
        .map(|c| {
            format!(
                "\n           {} ${:.4}{}",
                c.session,
                c.cost_usd,
                c.title
                    .as_deref()
                    .map(|t| format!(" — {t}"))
                    .unwrap_or_default()
            )
        })
        .collect()
}

/// `/info`'s lines about compression: pressure levels, compactions, tokens saved and
/// the compressor's own cost.
fn compression(agent: &Agent) -> (String, Value) {
    let live_tokens = agent.conversation.session().live_tokens;
    let totals = compaction_totals(agent);
    // Before the first turn the levels are not computed yet: compute them here.
    let levels = if agent.context.levels().is_empty() {
        effective_levels(
            &agent.options.settings.compression,
            agent.model.context_window(),
        )
        .unwrap_or_default()
    } else {
        agent.context.levels().to_vec()
    };
    let levels_data = levels.clone();
    let levels: Vec<String> = levels
        .iter()
        .map(|l| format!("{} tokens (to 1/{})", grouped(l.threshold), l.target_ratio))
        .collect();
    let accuracy = agent
        .context
        .accuracy()
        .unwrap_or_else(|| agent.model.token_counter().accuracy());
    let accuracy = accuracy.as_str();
    let knowledge = retained_knowledge(agent.conversation.live()).len();
    let text = format!(
        "Compress  at {levels} · {knowledge} knowledge item{ks} live · token count: {accuracy}\n\
         Saved     {saved} tokens over {n} compaction{s}; compressor cost ${usd:.4} ({ctokens} tokens)",
        levels = levels.join(", "),
        ks = if knowledge == 1 { "" } else { "s" },
        n = agent.conversation.session().compaction_count,
        s = if agent.conversation.session().compaction_count == 1 {
            ""
        } else {
            "s"
        },
        saved = grouped(totals.tokens_saved),
        usd = totals.compressor_usd,
        ctokens = grouped(totals.compressor_tokens),
    );
    let data = json!({
        "pressure_levels": levels_data,
        "live_tokens": live_tokens,
        "count_accuracy": accuracy,
        "knowledge_live": knowledge,
        "compactions": agent.conversation.session().compaction_count,
        "tokens_saved": totals.tokens_saved,
        "compressor_tokens": totals.compressor_tokens,
        "compressor_cost_usd": totals.compressor_usd,
    });
    (text, data)
}
