//! Context-management benchmarks (issue 5):
//!
//! ```text
//! cargo bench -p cairn-core --bench context
//! ```
//!
//! Targets: planning a compression (range and prompt) of a 200,000-token live
//! context under 20 ms; counting the tokens of a 1 MB live context under 30 ms.
//! The contexts are synthetic but shaped like real sessions: user requests, assistant
//! answers, tool calls with JSON arguments, and tool outputs of source code and prose.
//!
//! On a shared, busy machine wall-clock medians mostly measure the other processes;
//! `CAIRN_BENCH_CPU=1 cargo bench -p cairn-core --bench context` instead prints the
//! CPU time each operation consumes (all threads, from `getrusage`), which does not
//! depend on the machine's load.

use cairn_core::compression::{ContextMeasure, PromptLimits, plan_to_target, summary_request};
use cairn_core::event::ToolResultContent;
use cairn_core::knowledge::KnowledgeRecord;
use cairn_core::live_messages::retained_knowledge;
use cairn_core::tokens::TokenCounter;
use cairn_core::{
    ContentBlock, Event, KnowledgeItem, KnowledgeKind, LiveContext, Message, Payload, Project,
    Role, Session, SessionName, SessionStatus,
};
use divan::{Bencher, black_box};

fn main() {
    if std::env::var_os("CAIRN_BENCH_CPU").is_some() {
        cpu_report();
        return;
    }
    divan::main();
}

/// CPU time of this process so far (user + system, every thread, finished ones too).
fn cpu_time() -> std::time::Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    std::time::Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

fn cpu_report() {
    fn report(name: &str, runs: u32, mut f: impl FnMut()) {
        f();
        let (cpu, wall) = (cpu_time(), std::time::Instant::now());
        for _ in 0..runs {
            f();
        }
        let cpu = (cpu_time() - cpu) / runs;
        let wall = wall.elapsed() / runs;
        println!("{name:<40} cpu {cpu:>10.2?}   wall {wall:>10.2?}   ({runs} runs)");
    }
    let counter = TokenCounter::for_model(Some("openai:gpt-4.1"));
    let (live, measure) = live_context_of_tokens(200_000);
    let knowledge = retained_knowledge(&live);
    let target = measure.total() / 2;
    report("plan_and_prompt_200k_tokens", 50, || {
        let plan = plan_to_target(black_box(&live), &measure, target).expect("a plan");
        black_box(summary_request(
            &live,
            &plan,
            &knowledge,
            None,
            &PromptLimits::default(),
        ));
    });
    report("measure_plan_and_prompt_200k_tokens", 10, || {
        let measure = ContextMeasure::measure(&counter, black_box(&live));
        let plan = plan_to_target(&live, &measure, target).expect("a plan");
        black_box(summary_request(
            &live,
            &plan,
            &knowledge,
            None,
            &PromptLimits::default(),
        ));
    });
    let live = live_context(1_000_000);
    report("count_1mb_live_context_o200k", 20, || {
        black_box(counter.count_live_context(black_box(&live)));
    });
    report("load_o200k_tables", 3, || {
        black_box(tiktoken_rs::o200k_base().ok());
    });
}

/// A small deterministic generator (no dependency, same context every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.next() as usize % items.len()]
    }
}

const WORDS: [&str; 16] = [
    "request", "handler", "token", "parser", "session", "cache", "retry", "value", "error",
    "config", "store", "event", "module", "client", "server", "budget",
];

fn code(rng: &mut Lcg, bytes: usize) -> String {
    let mut out = String::with_capacity(bytes + 128);
    while out.len() < bytes {
        let (a, b, c) = (rng.pick(&WORDS), rng.pick(&WORDS), rng.pick(&WORDS));
        let n = rng.next() % 1000;
        out.push_str(&match rng.next() % 4 {
            0 => format!(
                "pub fn {a}_{b}(&self, {c}: &{}) -> Result<u64> {{\n",
                cap(c)
            ),
            1 => format!(
                "    let {a} = self.{b}.get(&{c}).ok_or(Error::{})?;\n",
                cap(a)
            ),
            2 => format!("    // {a} the {b} before the {c} is read ({n} ms budget)\n"),
            _ => format!("    Ok({a}.{b}_{c}({n}))\n}}\n\n"),
        });
    }
    out
}

fn prose(rng: &mut Lcg, bytes: usize) -> String {
    let mut out = String::with_capacity(bytes + 64);
    while out.len() < bytes {
        for _ in 0..12 {
            out.push_str(rng.pick(&WORDS));
            out.push(' ');
        }
        out.push_str("and that is why it matters.\n");
    }
    out
}

fn cap(word: &str) -> String {
    let mut c = word.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

fn session() -> Session {
    let now = jiff::Timestamp::UNIX_EPOCH;
    Session {
        id: ulid::Ulid::nil(),
        name: SessionName::parse("bench").expect("valid name"),
        title: None,
        project: Project::from_stored("/tmp/bench"),
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
        message_count: 0,
        tool_call_count: 0,
        compaction_count: 0,
    }
}

/// A live context of about `bytes` bytes of message text, with ten knowledge items.
fn live_context(bytes: usize) -> LiveContext {
    let mut rng = Lcg(42);
    let mut events = Vec::new();
    let mut knowledge = Vec::new();
    let mut size = 0usize;
    let push = |events: &mut Vec<Event>, payload: Payload| {
        let seq = events.len() as u64 + 1;
        events.push(Event {
            seq,
            ts: jiff::Timestamp::UNIX_EPOCH,
            payload,
        });
        seq
    };
    for i in 0..10 {
        let seq = push(
            &mut events,
            Payload::Knowledge(KnowledgeItem {
                knowledge_kind: KnowledgeKind::Decision,
                text: format!("decision {i}: {}", prose(&mut rng, 80).trim()),
                pinned: i % 3 == 0,
                extra: Default::default(),
            }),
        );
        knowledge.push(events[seq as usize - 1].clone());
    }
    let mut turn = 0;
    while size < bytes {
        let request = prose(&mut rng, 200);
        size += request.len();
        push(
            &mut events,
            Payload::Message(Message::text(Role::User, request)),
        );
        for call in 0..3 {
            let id = format!("call_{turn}_{call}");
            let path = format!("src/{}/{}.rs", rng.pick(&WORDS), rng.pick(&WORDS));
            push(
                &mut events,
                Payload::Message(Message::new(
                    Role::Assistant,
                    vec![
                        ContentBlock::text(prose(&mut rng, 120)),
                        ContentBlock::ToolUse {
                            id: id.clone(),
                            name: "read_file".into(),
                            input: serde_json::json!({"path": path, "max_lines": 400}),
                        },
                    ],
                )),
            );
            let output_size = [800, 3_000, 12_000][rng.next() as usize % 3];
            let output = code(&mut rng, output_size);
            size += output.len() + 150;
            push(
                &mut events,
                Payload::Message(Message::new(
                    Role::Tool,
                    vec![ContentBlock::ToolResult {
                        tool_use_id: id,
                        content: ToolResultContent::Text(output),
                        is_error: false,
                    }],
                )),
            );
        }
        let answer = prose(&mut rng, 600);
        size += answer.len();
        push(
            &mut events,
            Payload::Message(Message::text(Role::Assistant, answer)),
        );
        turn += 1;
    }
    LiveContext {
        session: session(),
        compaction: None,
        events,
        knowledge,
    }
}

/// A live context of at least `tokens` o200k tokens, and its measure.
fn live_context_of_tokens(tokens: u64) -> (LiveContext, ContextMeasure) {
    let counter = TokenCounter::for_model(Some("openai:gpt-4.1"));
    let mut bytes = (tokens as usize) * 3;
    loop {
        let live = live_context(bytes);
        let measure = ContextMeasure::measure(&counter, &live);
        if measure.total() >= tokens {
            return (live, measure);
        }
        bytes += bytes / 10;
    }
}

/// Choosing the range and building the summarization prompt for a 200,000-token
/// live context (the agent keeps the measure current, so it is not recounted).
#[divan::bench(sample_count = 50)]
fn plan_and_prompt_200k_tokens(bencher: Bencher) {
    let (live, measure) = live_context_of_tokens(200_000);
    let knowledge: Vec<KnowledgeRecord> = retained_knowledge(&live);
    let target = measure.total() / 2;
    {
        let plan = plan_to_target(&live, &measure, target).expect("a plan");
        // The work measured is real: about half the context is replaced and the
        // prompt carries all of it (outputs cut).
        assert!(plan.replaced_tokens > 90_000, "{plan:?}");
        let request = summary_request(
            &live,
            &plan,
            &knowledge,
            Some("focus"),
            &PromptLimits::default(),
        );
        assert_eq!(request.omitted_events, 0);
    }
    bencher.bench(|| {
        let plan = plan_to_target(black_box(&live), &measure, target).expect("a plan");
        summary_request(
            &live,
            &plan,
            &knowledge,
            Some("focus"),
            &PromptLimits::default(),
        )
    });
}

/// The same, recounting the context first with o200k (what a resumed session pays
/// once before its first plan).
#[divan::bench(sample_count = 20)]
fn measure_plan_and_prompt_200k_tokens(bencher: Bencher) {
    let (live, measure) = live_context_of_tokens(200_000);
    let counter = TokenCounter::for_model(Some("openai:gpt-4.1"));
    let knowledge = retained_knowledge(&live);
    let target = measure.total() / 2;
    bencher.bench(|| {
        let measure = ContextMeasure::measure(&counter, black_box(&live));
        let plan = plan_to_target(&live, &measure, target).expect("a plan");
        summary_request(&live, &plan, &knowledge, None, &PromptLimits::default())
    });
}

/// Counting the tokens of a 1 MB live context with o200k_base (tables loaded).
#[divan::bench(sample_count = 30)]
fn count_1mb_live_context_o200k(bencher: Bencher) {
    let live = live_context(1_000_000);
    let counter = TokenCounter::for_model(Some("openai:gpt-4.1"));
    counter.count_text("load the tables before timing");
    bencher.bench(|| counter.count_live_context(black_box(&live)));
}

/// The same with the bytes/3.5 estimate used for non-OpenAI models.
#[divan::bench(sample_count = 30)]
fn count_1mb_live_context_estimate(bencher: Bencher) {
    let live = live_context(1_000_000);
    let counter = TokenCounter::for_model(Some("anthropic:claude-sonnet-4-5"));
    bencher.bench(|| counter.count_live_context(black_box(&live)));
}

/// Loading the o200k_base tables: paid once per process, on first count (or in the
/// background after `tokens::warm_up`).
#[divan::bench(sample_count = 5)]
fn load_o200k_tables() -> Option<usize> {
    tiktoken_rs::o200k_base()
        .ok()
        .map(|bpe| bpe.encode_ordinary("x").len())
}
