//! The summarization request sent to the compressor model.
//!
//! It asks for one JSON object (schema: [`SUMMARY_SCHEMA`]); [`super::summary`] checks
//! the answer. The previous summary and the knowledge already kept are part of the
//! request, so nothing they hold is lost; long tool outputs are cut, and if the
//! transcript is still over the byte budget, the oldest events are left out (they stay
//! in the log, and the previous summary already covers the time before them).

use crate::compression::plan::CompressionPlan;
use crate::compression::transcript::{TranscriptLimits, render_event, tool_names};
use cairn_core::knowledge::KnowledgeRecord;
use cairn_core::{LiveContext, Message, Payload, Role};

/// The answer's schema, as the compressor is told it.
///
/// - `goal` (string, required, not blank): what the user is trying to achieve.
/// - `progress` (string): what has been done so far, briefly, in order.
/// - `decisions`, `constraints`, `open_problems`, `next_steps` (arrays of strings).
/// - `files` (array of `{"path": string, "role": string}`): files that matter.
/// - `knowledge` (array of `{"kind": "decision"|"constraint"|"preference"|"fact",
///   "text": string}`): durable items to keep in every future context.
///
/// Missing arrays count as empty; unknown fields are ignored.
pub const SUMMARY_SCHEMA: &str = r#"{
  "goal": "string, required: what the user is trying to achieve, one or two sentences",
  "progress": "string: what has been done so far, briefly, oldest first",
  "decisions": ["string: a decision still in force, with its reason"],
  "constraints": ["string: a rule the work must respect"],
  "files": [{"path": "string: a file path", "role": "string: what it is for in this work"}],
  "open_problems": ["string: an unresolved issue, failing test or doubt"],
  "next_steps": ["string: what to do next, in order"],
  "knowledge": [{"kind": "decision | constraint | preference | fact", "text": "string: one durable item"}]
}"#;

const SYSTEM_PROMPT: &str = "You compress the history of a coding-agent session. \
Another model will continue the work from your summary alone, so keep everything it \
needs: the goal, every decision still in force (with its reason), every constraint and \
user preference, the files involved and their roles, what was tried and failed, open \
problems and the next steps. Drop what no longer matters: dead ends already recorded as \
such, tool output already acted upon, pleasantries. Be specific: names, paths, commands, \
numbers, error messages. Never invent anything that is not in the transcript.\n\n\
Put in \"knowledge\" only durable items worth keeping in every future context (a \
decision, a constraint, a user preference, a fact about the project) that are not \
already in the list of knowledge kept.\n\n\
The transcript is not lost: the agent can read any event again, verbatim, with its \
recall tool (recall(seq=N) for event #N, recall(query=...) to search). So when a detail \
is too long to keep whole (a full error message, a long output, a long discussion), \
say what it was and name its event number (#N) instead of copying it.\n\n\
Answer with exactly one JSON object of this shape, and nothing else:\n";

/// How large the request may get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PromptLimits {
    /// Upper bound on the transcript's bytes.
    pub transcript_bytes: usize,
}

impl Default for PromptLimits {
    fn default() -> Self {
        PromptLimits {
            transcript_bytes: 240_000,
        }
    }
}

impl PromptLimits {
    /// Limits for a compressor with this window: the transcript takes at most about
    /// half of it (2 bytes a token is a low, safe figure for code and prose).
    pub fn for_window(window_tokens: u64) -> Self {
        PromptLimits {
            transcript_bytes: (window_tokens.saturating_mul(2) as usize).clamp(16_000, 400_000),
        }
    }
}

/// Successively tighter views of the transcript, tried until it fits the budget.
const LEVELS: [TranscriptLimits; 3] = [
    TranscriptLimits::GENEROUS,
    TranscriptLimits {
        tool_output_bytes: 600,
        text_bytes: 3_000,
        tool_input_bytes: 400,
        thinking: true,
    },
    TranscriptLimits {
        tool_output_bytes: 200,
        text_bytes: 1_200,
        tool_input_bytes: 160,
        thinking: false,
    },
];

#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRequest {
    /// A system message and one user message.
    pub messages: Vec<Message>,
    /// What to allow the compressor to write (the summary budget and JSON framing).
    pub max_output_tokens: u64,
    /// Oldest replaced events left out of the transcript to respect the budget.
    pub omitted_events: usize,
}

/// Build the request summarizing what `plan` replaces. `knowledge` is the set kept
/// now (it is shown so the model neither loses nor repeats it); `focus` is the text
/// of `/summarize FOCUS`.
pub fn summary_request(
    live: &LiveContext,
    plan: &CompressionPlan,
    knowledge: &[KnowledgeRecord],
    focus: Option<&str>,
    limits: &PromptLimits,
) -> SummaryRequest {
    let prefix = plan.prefix(live);
    let names = tool_names(prefix);
    let mut rendered: Vec<String> = Vec::new();
    for level in &LEVELS {
        rendered = prefix
            .iter()
            .map(|e| render_event(e, level, &names))
            .collect();
        if rendered.iter().map(String::len).sum::<usize>() <= limits.transcript_bytes {
            break;
        }
    }
    // Still too large: leave out the oldest events.
    let mut total: usize = rendered.iter().map(String::len).sum();
    let mut skip = 0;
    while total > limits.transcript_bytes && skip < rendered.len() {
        total -= rendered[skip].len();
        skip += 1;
    }
    let omitted_events = prefix[..skip]
        .iter()
        .filter(|e| e.payload.as_message().is_some())
        .count();

    let [first, last] = plan.replaces;
    let mut user = format!(
        "Summarize events #{first} to #{last} of this session so that the work can \
         continue from your summary alone.\n"
    );
    if let Some(focus) = focus.map(str::trim).filter(|f| !f.is_empty()) {
        user.push_str(&format!(
            "\nThe user asks the summary to focus on: {focus}\n"
        ));
    }
    if let Some(Payload::Compaction(previous)) = live.compaction.as_ref().map(|e| &e.payload) {
        user.push_str(&format!(
            "\nSummary of the events before these (fold it into yours; keep what still \
             matters):\n<<<\n{}\n>>>\n",
            previous.summary.trim()
        ));
    }
    if !knowledge.is_empty() {
        user.push_str(
            "\nKnowledge kept (stays in every context; do not repeat it in \"knowledge\"):\n",
        );
        for item in knowledge {
            user.push_str(&format!(
                "- [{}] {}\n",
                item.kind.as_str(),
                item.text.trim()
            ));
        }
    }
    user.push_str("\nTranscript ([#N] is the event number; long outputs are cut):\n<<<\n");
    if omitted_events > 0 {
        user.push_str(&format!(
            "[{omitted_events} older messages left out for length; the summary above covers the time before]\n"
        ));
    }
    for piece in &rendered[skip..] {
        user.push_str(piece);
    }
    user.push_str(">>>\n");
    let tail = plan.tail(live).len();
    if tail > 0 {
        user.push_str(&format!(
            "\nThe {tail} events after #{last} stay verbatim in the context; do not summarize them.\n"
        ));
    }
    user.push_str(&format!(
        "\nKeep the whole answer under about {} tokens. Answer with the JSON object only.\n",
        plan.summary_budget
    ));

    let system = format!("{SYSTEM_PROMPT}{SUMMARY_SCHEMA}\n");
    SummaryRequest {
        messages: vec![
            Message::text(Role::System, system),
            Message::text(Role::User, user),
        ],
        max_output_tokens: plan.summary_budget + plan.summary_budget / 2 + 500,
        omitted_events,
    }
}

/// The request's user message, for tests and `/context` displays.
pub fn request_text(request: &SummaryRequest) -> String {
    request
        .messages
        .iter()
        .map(Message::plain_text)
        .collect::<Vec<_>>()
        .join("\n")
}
