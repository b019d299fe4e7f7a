//! Context management end to end, in memory: sessions grow, pressure levels fire,
//! plans are applied as compaction events on top of each other, and the live view
//! (`cairn_core::context::live_view`) is what the next round sees.

use std::collections::HashSet;

use cairn_agent::compression::fallback::FallbackOutcome;
use cairn_agent::compression::prompt::{PromptLimits, request_text};
use cairn_agent::compression::summary::compaction_from_summary;
use cairn_agent::compression::{
    CompactionDraft, ContextMeasure, HintState, check_summary, effective_levels,
    extractive_fallback, next_hint, plan_all, plan_to_target, pressure, summary_request,
};
use cairn_agent::run_commands::{
    commands_with_defaults, compaction_from_command_answer, find_command, render_command,
};
use cairn_core::CompactionMethod;
use cairn_core::context::live_view;
use cairn_core::event::ToolResultContent;
use cairn_core::knowledge::{self, KnowledgeRecord};
use cairn_core::live_messages::{assemble, retained_knowledge};
use cairn_core::settings::{CommandOutput, CompressionSettings, PressureLevel};
use cairn_core::tokens::{Method, TokenCounter};
use cairn_core::{
    ContentBlock, Event, KnowledgeItem, KnowledgeKind, LiveContext, Message, Payload, Project,
    Role, Session, SessionName, SessionStatus,
};
use serde_json::json;

// ---- an in-memory session ---------------------------------------------------------

struct History {
    events: Vec<Event>,
    retention: usize,
}

impl History {
    fn new(retention: usize) -> Self {
        History {
            events: Vec::new(),
            retention,
        }
    }

    fn push(&mut self, payload: Payload) -> u64 {
        let seq = self.events.len() as u64 + 1;
        self.events.push(Event {
            seq,
            ts: jiff::Timestamp::UNIX_EPOCH,
            payload,
        });
        seq
    }

    fn message(&mut self, message: Message) -> u64 {
        self.push(Payload::Message(message))
    }

    fn user(&mut self, text: &str) -> u64 {
        self.message(Message::text(Role::User, text))
    }

    fn assistant(&mut self, text: &str) -> u64 {
        self.message(Message::text(Role::Assistant, text))
    }

    /// An assistant message with tool calls, then one tool message per result.
    fn tool_round(&mut self, calls: &[(&str, &str, usize)]) {
        let uses = calls
            .iter()
            .map(|(id, name, _)| ContentBlock::ToolUse {
                id: (*id).into(),
                name: (*name).into(),
                input: json!({"path": format!("src/{id}.rs")}),
            })
            .collect();
        self.message(Message::new(Role::Assistant, uses));
        for (id, _, size) in calls {
            self.message(Message::new(
                Role::Tool,
                vec![ContentBlock::ToolResult {
                    tool_use_id: (*id).into(),
                    content: ToolResultContent::Text(filler(*size)),
                    is_error: false,
                }],
            ));
        }
    }

    fn remember(&mut self, kind: KnowledgeKind, text: &str, pinned: bool) -> u64 {
        self.push(Payload::Knowledge(KnowledgeItem {
            knowledge_kind: kind,
            text: text.into(),
            pinned,
            scope: Default::default(),
            extra: Default::default(),
        }))
    }

    fn apply(&mut self, draft: &CompactionDraft) {
        self.push(Payload::Compaction(draft.compaction.clone()));
        for entry in &draft.new_knowledge {
            self.remember(entry.kind, &entry.text, false);
        }
    }

    /// What a store's `live_context` returns: the live view plus the retained
    /// knowledge events.
    fn live(&self) -> LiveContext {
        let (compaction, tail) = live_view(&self.events);
        let all: Vec<Event> = self
            .events
            .iter()
            .filter(|e| matches!(e.payload, Payload::Knowledge(_)))
            .cloned()
            .collect();
        let keep: HashSet<u64> = knowledge::retained(knowledge::records(&all), self.retention)
            .into_iter()
            .flat_map(|r| r.seqs)
            .collect();
        LiveContext {
            session: session(),
            compaction: compaction.cloned(),
            events: tail.into_iter().cloned().collect(),
            knowledge: all.into_iter().filter(|e| keep.contains(&e.seq)).collect(),
        }
    }
}

fn session() -> Session {
    let now = jiff::Timestamp::UNIX_EPOCH;
    Session {
        id: ulid::Ulid::nil(),
        name: SessionName::parse("auth-refactor").unwrap(),
        title: None,
        project: Project::from_stored("/tmp/project"),
        parent_id: None,
        fork_seq: None,
        model: Some("openai:gpt-4.1".into()),
        status: SessionStatus::Active,
        created_at: now,
        updated_at: now,
        usage: Default::default(),
        cost_usd: 0.0,
        spend_checkpoint_usd: 0.0,
        live_tokens: 0,
        head_seq: 0,
        context_start_seq: 1,
        compaction_seq: None,
        live_gaps: Vec::new(),
        message_count: 0,
        tool_call_count: 0,
        compaction_count: 0,
    }
}

/// Prose-like text of about `bytes` bytes.
fn filler(bytes: usize) -> String {
    let words = [
        "token", "parser", "module", "request", "handler", "cache", "retry", "value",
    ];
    let mut out = String::with_capacity(bytes + 16);
    let mut i = 0;
    while out.len() < bytes {
        out.push_str(words[i % words.len()]);
        out.push_str(if i % 11 == 10 { ".\n" } else { " " });
        i += 1;
    }
    out
}

/// gpt-4.1's tokenizer: exact counts.
fn counter() -> TokenCounter {
    TokenCounter::new(Method::O200kBase, true)
}

fn levels(pairs: &[(u64, f64)]) -> Vec<PressureLevel> {
    let settings = CompressionSettings {
        hints_enabled: true,
        knowledge_retention: 10,
        pressure_levels: pairs
            .iter()
            .map(|&(threshold, target_ratio)| PressureLevel {
                threshold,
                target_ratio,
            })
            .collect(),
        model: None,
    };
    effective_levels(&settings, None).unwrap()
}

/// A well-formed model answer.
fn model_answer(round: usize, knowledge: &[(&str, &str)]) -> String {
    let items: Vec<_> = knowledge
        .iter()
        .map(|(kind, text)| json!({"kind": kind, "text": text}))
        .collect();
    let answer = json!({
        "goal": format!("Move the service to JWT auth (round {round})"),
        "progress": "Parser and key loading done; middleware next.",
        "decisions": ["RS256 keys"],
        "constraints": ["no unsafe code"],
        "files": [{"path": "src/auth.rs", "role": "token checks"}],
        "open_problems": ["clock skew in tests"],
        "next_steps": ["wire the middleware", "add tests"],
        "knowledge": items,
    });
    format!("Here you go:\n```json\n{answer:#}\n```")
}

/// No tool_use in the prefix may have its tool_result in the tail.
fn assert_no_split(live: &LiveContext, tail_start: usize) {
    let prefix_uses: HashSet<&str> = live.events[..tail_start]
        .iter()
        .filter_map(|e| e.payload.as_message())
        .flat_map(|m| m.tool_uses().map(|(id, _, _)| id))
        .collect();
    for event in &live.events[tail_start..] {
        let Some(m) = event.payload.as_message() else {
            continue;
        };
        for block in &m.content {
            if let ContentBlock::ToolResult { tool_use_id, .. } = block {
                assert!(
                    !prefix_uses.contains(tool_use_id.as_str()),
                    "tool call {tool_use_id} split from its result at {tail_start}"
                );
            }
        }
    }
}

// ---- tests --------------------------------------------------------------------------

#[test]
fn two_pressure_levels_fire_at_the_right_points_and_sizes() {
    let counter = counter();
    let levels = levels(&[(3_000, 2.0), (6_000, 4.0)]);
    let mut history = History::new(10);
    let mut fired: Vec<(usize, u64, u64, u64)> = Vec::new();
    for turn in 0..40 {
        history.user(&format!("request {turn}: {}", filler(200)));
        // Turn 25 reads a large file: the context jumps past the second level.
        let size = if turn == 25 { 30_000 } else { 600 };
        history.tool_round(&[(&format!("c{turn}"), "read_file", size)]);
        history.assistant(&format!("done with {turn}. {}", filler(150)));

        let live = history.live();
        let measure = ContextMeasure::measure(&counter, &live);
        let total = measure.total();
        let Some(hit) = pressure(total, &levels) else {
            assert!(total < 3_000, "no level fired at {total}");
            continue;
        };
        let expected_level = usize::from(total >= 6_000);
        assert_eq!(hit.level_index, expected_level, "at {total} tokens");
        let ratio = if expected_level == 0 { 2.0 } else { 4.0 };
        assert_eq!(hit.target_tokens, (total as f64 / ratio) as u64);

        let plan = plan_to_target(&live, &measure, hit.target_tokens).unwrap();
        assert_no_split(&live, plan.tail_start);
        assert!(plan.tail_fits, "{plan:?}");
        let kept = retained_knowledge(&live);
        let summary = check_summary(&model_answer(turn, &[])).unwrap();
        let draft = compaction_from_summary(&plan, &summary, &kept, 10, &counter, None).unwrap();
        assert!(
            draft.reached_target,
            "{} > {}",
            draft.tokens_after, plan.target_tokens
        );
        history.apply(&draft);
        // What the draft promised is what the next live context measures.
        let after = ContextMeasure::measure(&counter, &history.live());
        assert_eq!(after.total(), draft.tokens_after);
        assert!(after.total() <= hit.target_tokens);
        fired.push((hit.level_index, total, hit.target_tokens, after.total()));
    }
    assert!(fired.iter().any(|f| f.0 == 0), "{fired:?}");
    assert!(fired.iter().any(|f| f.0 == 1), "{fired:?}");
    // The history kept every event: dense seqs, and every turn's request is there.
    for (i, e) in history.events.iter().enumerate() {
        assert_eq!(e.seq, i as u64 + 1);
    }
    let requests = history
        .events
        .iter()
        .filter_map(|e| e.payload.as_message())
        .filter(|m| m.plain_text().starts_with("request "))
        .count();
    assert_eq!(requests, 40);
}

#[test]
fn tool_calls_are_never_split_from_their_results() {
    let counter = counter();
    let mut history = History::new(10);
    for turn in 0..12 {
        history.user(&format!("turn {turn}"));
        let a = format!("a{turn}");
        let b = format!("b{turn}");
        // Parallel calls, results in separate messages, sizes varying.
        history.tool_round(&[(&a, "read_file", 300 + turn * 170), (&b, "grep", 900)]);
        history.tool_round(&[(&format!("c{turn}"), "run_tests", 2_000)]);
        history.assistant("ok");
    }
    // A turn in flight: calls made, results partly in.
    history.user("last request");
    history.tool_round(&[("x1", "read_file", 5_000), ("x2", "read_file", 5_000)]);
    let live = history.live();
    let measure = ContextMeasure::measure(&counter, &live);
    let total = measure.total();
    let mut tails = HashSet::new();
    for target in (200..total).step_by(250) {
        let Ok(plan) = plan_to_target(&live, &measure, target) else {
            continue;
        };
        assert_no_split(&live, plan.tail_start);
        tails.insert(plan.tail_start);
        if plan.tail_fits {
            assert!(plan.kept_tokens + plan.tail_tokens + plan.summary_budget <= target);
        }
        assert_eq!(plan.replaces[0], 1);
        assert_eq!(plan.replaces[1], live.events[plan.tail_start - 1].seq);
    }
    assert!(
        tails.len() > 5,
        "plans chose many different cuts: {tails:?}"
    );
    // The last user request is kept whenever it fits.
    let last_request = live.events.len() - 4;
    let plan = plan_to_target(&live, &measure, total * 9 / 10).unwrap();
    assert!(plan.tail_start <= last_request);
}

#[test]
fn ten_knowledge_items_survive_five_compactions() {
    let counter = counter();
    let retention = 10;
    let mut history = History::new(retention);
    let first_seven = [
        ("decision", "Use RS256 for service tokens"),
        ("constraint", "No unsafe code"),
        ("preference", "Small commits with honest messages"),
        ("fact", "CI runs on 2 cores"),
        ("decision", "Keys rotate weekly"),
        ("constraint", "Public API stays backwards compatible"),
        ("fact", "The staging host is auth.staging.internal"),
    ];
    let pinned_three = [
        (KnowledgeKind::Preference, "Answer in English"),
        (KnowledgeKind::Constraint, "Never push to main"),
        (KnowledgeKind::Fact, "Tokens live 15 minutes"),
    ];
    let all_texts: Vec<&str> = first_seven
        .iter()
        .map(|(_, t)| *t)
        .chain(pinned_three.iter().map(|(_, t)| *t))
        .collect();
    let target = 1_500;

    for round in 0..5 {
        for turn in 0..6 {
            history.user(&format!("round {round} turn {turn}: {}", filler(300)));
            history.tool_round(&[(&format!("r{round}t{turn}"), "read_file", 800)]);
            history.assistant(&filler(200));
        }
        if round == 1 {
            for (kind, text) in pinned_three {
                history.remember(kind, text, true);
            }
        }
        let live = history.live();
        let measure = ContextMeasure::measure(&counter, &live);
        let plan = plan_to_target(&live, &measure, target.max(measure.total() / 2)).unwrap();
        let kept = retained_knowledge(&live);
        let request = summary_request(&live, &plan, &kept, None, &PromptLimits::default());
        let text = request_text(&request);
        if round > 0 {
            for t in &all_texts[..if round == 1 { 7 } else { 10 }] {
                assert!(text.contains(t), "round {round}: request lacks {t:?}");
            }
        }
        // Round 0 captures seven items; later rounds restate some with other wording.
        let answer = if round == 0 {
            model_answer(round, &first_seven)
        } else {
            model_answer(
                round,
                &[
                    ("decision", "use rs256 for service tokens."),
                    ("fact", "CI runs on 2 cores"),
                ],
            )
        };
        let summary = check_summary(&answer).unwrap();
        let draft =
            compaction_from_summary(&plan, &summary, &kept, retention, &counter, None).unwrap();
        if round > 0 {
            assert!(draft.new_knowledge.is_empty(), "duplicates were not added");
        }
        history.apply(&draft);

        let live = history.live();
        let block = assemble(&live)[0].plain_text();
        let expected = if round == 0 { 7 } else { 10 };
        for t in &all_texts[..expected] {
            assert!(block.contains(t), "round {round}: live context lacks {t:?}");
            assert!(
                draft.compaction.knowledge.iter().any(|k| k.text == *t),
                "round {round}: compaction record lacks {t:?}"
            );
        }
    }
    // Each item is stored once.
    let stored = knowledge::records(&history.events);
    assert_eq!(stored.len(), 10);
    // An eleventh unpinned item pushes the oldest unpinned one out of the live block,
    // never a pinned one; the listing still shows it.
    history.remember(KnowledgeKind::Fact, "The eleventh item", false);
    let live = history.live();
    let kept: Vec<String> = retained_knowledge(&live)
        .into_iter()
        .map(|r| r.text)
        .collect();
    assert!(!kept.contains(&"Use RS256 for service tokens".to_owned()) || kept.len() > 10);
    for (_, text) in pinned_three {
        assert!(kept.contains(&text.to_owned()));
    }
    let all_knowledge: Vec<Event> = history
        .events
        .iter()
        .filter(|e| matches!(e.payload, Payload::Knowledge(_)))
        .cloned()
        .collect();
    assert_eq!(knowledge::listing(&all_knowledge, retention).len(), 11);
}

#[test]
fn bad_summaries_are_refused_and_the_fallback_keeps_the_session_usable() {
    let counter = counter();
    let mut history = History::new(10);
    history.remember(KnowledgeKind::Constraint, "No unsafe code", true);
    for turn in 0..10 {
        history.user(&format!("turn {turn}: please look at the parser"));
        history.tool_round(&[(&format!("c{turn}"), "read_file", 4_000)]);
        history.assistant(&format!("Parser note {turn}: {}", filler(200)));
    }
    let live = history.live();
    let measure = ContextMeasure::measure(&counter, &live);
    let target = measure.total() / 3;
    let plan = plan_to_target(&live, &measure, target).unwrap();
    let kept = retained_knowledge(&live);

    for bad in [
        "",
        "Sorry, I cannot help with that.",
        "{\"goal\": \"\"}",
        "{\"goal\": 3}",
    ] {
        assert!(check_summary(bad).is_err(), "{bad:?} accepted");
    }
    let FallbackOutcome::Reached(draft) = extractive_fallback(
        &live,
        &plan,
        &kept,
        10,
        &counter,
        "the model answered badly",
    ) else {
        panic!("the fallback should reach {target}");
    };
    assert!(draft.tokens_after <= target);
    let s = &draft.compaction.summary;
    assert!(
        s.contains("without a model (the model answered badly)"),
        "{s}"
    );
    assert!(s.contains("output omitted"), "tool outputs go first: {s}");
    let last_replaced = plan
        .prefix(&live)
        .iter()
        .rev()
        .filter_map(|e| e.payload.as_message())
        .find(|m| m.role == Role::User)
        .map(|m| m.plain_text())
        .unwrap();
    assert!(
        s.contains(&last_replaced),
        "the newest replaced turn is kept: {s}"
    );
    assert_eq!(draft.compaction.method, Some(CompactionMethod::Extractive));
    history.apply(&draft);
    let live = history.live();
    assert!(
        retained_knowledge(&live)
            .iter()
            .any(|k| k.text == "No unsafe code")
    );
    assert_eq!(
        ContextMeasure::measure(&counter, &live).total(),
        draft.tokens_after
    );

    // Tighter: older turns are left out too, and the result still fits.
    let measure = ContextMeasure::measure(&counter, &live);
    let tight = plan.kept_tokens + 400;
    let plan = plan_to_target(&live, &measure, tight.max(measure.total() / 4)).unwrap();
    match extractive_fallback(&live, &plan, &kept, 10, &counter, "unreachable") {
        FallbackOutcome::Reached(d) => {
            assert!(d.tokens_after <= plan.target_tokens);
            let s = &d.compaction.summary;
            assert!(s.contains("left out for length"), "{s}");
            assert!(
                s.contains("## Earlier summary"),
                "the previous summary is cut, not dropped: {s}"
            );
        }
        FallbackOutcome::Unreachable { reason, .. } => panic!("{reason}"),
    }
}

#[test]
fn the_fallback_reports_when_the_target_cannot_be_reached() {
    let counter = counter();
    let mut history = History::new(10);
    history.user("first");
    history.assistant(&filler(2_000));
    history.user("read the big file");
    history.tool_round(&[("big", "read_file", 40_000)]);
    let live = history.live();
    let measure = ContextMeasure::measure(&counter, &live);
    // A target far below the turn in flight, whose tool output stays verbatim.
    let plan = plan_to_target(&live, &measure, 1_000).unwrap();
    assert!(!plan.tail_fits);
    assert_no_split(&live, plan.tail_start);
    match extractive_fallback(&live, &plan, &[], 10, &counter, "model unreachable") {
        FallbackOutcome::Unreachable {
            best_tokens,
            target_tokens,
            reason,
            ..
        } => {
            assert_eq!(target_tokens, 1_000);
            assert!(best_tokens > 1_000);
            assert!(reason.contains("turn in progress"), "{reason}");
        }
        FallbackOutcome::Reached(d) => panic!("reported reached at {}", d.tokens_after),
    }
}

#[test]
fn focus_previous_summary_and_huge_outputs_shape_the_prompt() {
    let counter = counter();
    let mut history = History::new(10);
    history.user("start");
    history.tool_round(&[("huge", "read_file", 500_000)]);
    history.assistant("read it");
    history.user("next");
    history.assistant("ok");
    let live = history.live();
    let measure = ContextMeasure::measure(&counter, &live);
    let plan = plan_to_target(&live, &measure, measure.total() / 2).unwrap();
    let request = summary_request(
        &live,
        &plan,
        &[],
        Some("the database schema"),
        &PromptLimits::default(),
    );
    assert_eq!(request.messages[0].role, Role::System);
    assert!(
        request.messages[0]
            .plain_text()
            .contains("\"open_problems\"")
    );
    let text = request_text(&request);
    assert!(text.contains("focus on: the database schema"));
    assert!(text.contains("bytes left out"), "huge output was cut");
    assert!(text.len() < 20_000, "prompt stays small: {}", text.len());
    let summary = check_summary(&model_answer(0, &[])).unwrap();
    let draft = compaction_from_summary(
        &plan,
        &summary,
        &[],
        10,
        &counter,
        Some("the database schema"),
    )
    .unwrap();
    assert_eq!(
        draft.compaction.focus.as_deref(),
        Some("the database schema")
    );
    let mut draft = draft;
    let usage = cairn_core::Usage {
        input_tokens: 1_200,
        output_tokens: 300,
        ..Default::default()
    };
    draft.record_compressor("openai:gpt-4.1-mini", &usage, Some(0.002), Some("req_1"));
    history.apply(&draft);
    // The compressor's cost travels in the event, under the message field names.
    let line = serde_json::to_value(history.events.last().unwrap()).unwrap();
    assert_eq!(line["kind"], "compaction");
    assert_eq!(line["usage"]["input_tokens"], 1_200);
    assert_eq!(line["cost_usd"], 0.002);
    assert_eq!(line["model"], "openai:gpt-4.1-mini");
    // The next plan folds the previous summary in and starts at its range.
    history.user("more");
    history.assistant(&filler(3_000));
    history.user("and more");
    let live = history.live();
    let measure = ContextMeasure::measure(&counter, &live);
    let plan = plan_to_target(&live, &measure, measure.total() / 2).unwrap();
    assert_eq!(plan.replaces[0], 1);
    let text = request_text(&summary_request(
        &live,
        &plan,
        &[],
        None,
        &PromptLimits::default(),
    ));
    assert!(
        text.contains("Move the service to JWT auth (round 0)"),
        "{text}"
    );
}

#[test]
fn run_reduce_replaces_the_whole_live_context() {
    let counter = counter();
    let mut history = History::new(10);
    for turn in 0..5 {
        history.user(&format!("turn {turn}"));
        history.assistant(&filler(1_000));
    }
    let commands = commands_with_defaults(&[]);
    let reduce = find_command(&commands, "reduce").unwrap();
    let live = history.live();
    let rendered = render_command(reduce, "keep the SQL", "auth-refactor", &live, 100_000).unwrap();
    assert_eq!(rendered.output, CommandOutput::Replace);
    assert!(rendered.prompt.ends_with("keep the SQL"));
    let measure = ContextMeasure::measure(&counter, &live);
    let plan = plan_all(&live, &measure, measure.total() / 2).unwrap();
    assert!(
        compaction_from_command_answer(&plan, "reduce", "  ", &[], 10, &counter).is_err(),
        "a blank answer is refused"
    );
    let draft = compaction_from_command_answer(
        &plan,
        "reduce",
        "## Brief\nAll five turns.",
        &[],
        10,
        &counter,
    )
    .unwrap();
    assert_eq!(draft.compaction.replaces, [1, 10]);
    assert_eq!(draft.compaction.command.as_deref(), Some("reduce"));
    history.apply(&draft);
    let live = history.live();
    assert!(live.events.is_empty());
    let messages = assemble(&live);
    assert_eq!(messages.len(), 1);
    assert!(messages[0].plain_text().contains("All five turns."));
}

#[test]
fn hints_appear_once_per_level_as_a_session_grows() {
    let counter = counter();
    let levels = levels(&[(4_000, 2.0), (9_000, 3.0)]);
    let mut history = History::new(10);
    let mut state = HintState::default();
    let mut hints = Vec::new();
    for turn in 0..30 {
        history.user(&format!("turn {turn}"));
        history.assistant(&filler(if turn % 7 == 6 { 6_000 } else { 500 }));
        let live = history.live();
        let measure = ContextMeasure::measure(&counter, &live);
        let total = measure.total();
        if let Some(hint) = next_hint(total, &levels, true, &state) {
            assert!(total as f64 >= 0.8 * hint.threshold as f64);
            state.record(&hint);
            hints.push(hint.threshold);
        }
        if let Some(hit) = pressure(total, &levels) {
            let plan = plan_to_target(&live, &measure, hit.target_tokens).unwrap();
            let kept: Vec<KnowledgeRecord> = retained_knowledge(&live);
            let summary = check_summary(&model_answer(turn, &[])).unwrap();
            let draft =
                compaction_from_summary(&plan, &summary, &kept, 10, &counter, None).unwrap();
            history.apply(&draft);
            state.reset();
            hints.push(0); // a compression
        }
    }
    // Between two compressions each threshold hints at most once.
    for cycle in hints.split(|t| *t == 0) {
        let distinct: HashSet<_> = cycle.iter().collect();
        assert_eq!(distinct.len(), cycle.len(), "{hints:?}");
    }
    assert!(hints.contains(&4_000), "{hints:?}");
}

#[test]
fn a_thousand_turns_stay_under_the_threshold_with_every_knowledge_item() {
    // The estimate counter keeps this fast in debug builds; the measure is kept
    // current event by event, as the agent does.
    let counter = TokenCounter::estimate();
    let levels = levels(&[(6_000, 2.0), (9_000, 3.0)]);
    let retention = 10;
    let mut history = History::new(retention);
    let texts: Vec<String> = (0..10)
        .map(|i| format!("Knowledge item number {i}"))
        .collect();
    for (i, text) in texts.iter().enumerate() {
        history.remember(KnowledgeKind::Fact, text, i % 2 == 0);
    }
    let mut live = history.live();
    let mut measure = ContextMeasure::measure(&counter, &live);
    let mut compressions = 0;
    for turn in 0..1_000 {
        let before = history.events.len();
        history.user(&format!("turn {turn}"));
        let size = if turn % 97 == 96 {
            12_000
        } else {
            300 + (turn % 5) * 200
        };
        history.tool_round(&[(&format!("t{turn}"), "read_file", size)]);
        history.assistant(&filler(150));
        for event in &history.events[before..] {
            measure.push(&counter, event);
            live.events.push(event.clone());
        }
        let total = measure.total();
        let Some(hit) = pressure(total, &levels) else {
            continue;
        };
        let plan = plan_to_target(&live, &measure, hit.target_tokens).unwrap();
        let kept = retained_knowledge(&live);
        let summary = check_summary(&model_answer(turn, &[])).unwrap();
        let draft =
            compaction_from_summary(&plan, &summary, &kept, retention, &counter, None).unwrap();
        assert!(draft.reached_target, "turn {turn}: {draft:?}");
        history.apply(&draft);
        compressions += 1;
        live = history.live();
        measure = ContextMeasure::measure(&counter, &live);
        assert!(measure.total() < 6_000, "turn {turn}: {}", measure.total());
        let block = assemble(&live)[0].plain_text();
        for text in &texts {
            assert!(block.contains(text.as_str()), "turn {turn} lost {text:?}");
        }
    }
    assert!(compressions > 20, "{compressions}");
    assert_eq!(
        history
            .events
            .iter()
            .filter(|e| matches!(e.payload, Payload::Message(_)))
            .count(),
        4_000,
        "every message is still in the history"
    );
}
