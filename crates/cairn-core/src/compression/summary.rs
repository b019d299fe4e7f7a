//! Checking the compressor's answer and turning it into a compaction.
//!
//! The answer must contain one JSON object of the shape in
//! [`super::prompt::SUMMARY_SCHEMA`]; code fences and prose around it are tolerated.
//! An answer with no object, a field of the wrong type, an unknown knowledge kind or
//! a blank goal is refused with the reason, and so is a summary that would not make
//! the context smaller. The caller then runs [`super::fallback`].

use crate::json_kind::json_kind;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::compression::plan::CompressionPlan;
use crate::event::KnowledgeEntry;
use crate::knowledge::{self, KnowledgeRecord, MAX_KNOWLEDGE_CHARS};
use crate::live_messages::compose_preamble;
use crate::tokens::TokenCounter;
use crate::{Compaction, CompactionMethod, Message, RequestRecord, Role, Usage};

/// The model's structured summary, checked.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StructuredSummary {
    pub goal: String,
    pub progress: String,
    pub decisions: Vec<String>,
    pub constraints: Vec<String>,
    pub files: Vec<FileRole>,
    pub open_problems: Vec<String>,
    pub next_steps: Vec<String>,
    pub knowledge: Vec<KnowledgeEntry>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileRole {
    pub path: String,
    pub role: String,
}

/// Why an answer cannot be used as a summary.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SummaryRejected {
    #[error("empty summary: {0}")]
    Empty(String),
    #[error("malformed summary: {0}")]
    Malformed(String),
    #[error(
        "the summary would not make the context smaller ({after} tokens after, {before} before)"
    )]
    NoGain { before: u64, after: u64 },
}

/// How a compaction was made, recorded in its `method` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SummaryMethod {
    /// The compressor model's structured summary.
    Model,
    /// cairn's extractive fallback, without a model.
    Extractive,
    /// The answer of a `/run` command with `output = "replace"`.
    Command,
}

impl From<SummaryMethod> for CompactionMethod {
    fn from(method: SummaryMethod) -> Self {
        match method {
            SummaryMethod::Model => CompactionMethod::Model,
            SummaryMethod::Extractive => CompactionMethod::Extractive,
            SummaryMethod::Command => CompactionMethod::Command,
        }
    }
}

impl SummaryMethod {
    pub fn as_str(&self) -> &'static str {
        match self {
            SummaryMethod::Model => "model",
            SummaryMethod::Extractive => "extractive",
            SummaryMethod::Command => "command",
        }
    }
}

/// A compaction ready to append, with what else to append and its figures.
#[derive(Clone, Debug, PartialEq)]
pub struct CompactionDraft {
    /// Append this as a `compaction` event (nothing is deleted).
    pub compaction: Compaction,
    /// Items not known before: append each as a `knowledge` event (unpinned).
    pub new_knowledge: Vec<KnowledgeEntry>,
    /// The live context's size after the compaction (fixed part included).
    pub tokens_after: u64,
    pub reached_target: bool,
}

impl CompactionDraft {
    /// Record the compressor request's model, usage and cost on the compaction, under
    /// the field names a message uses (`model`, `usage`, `cost_usd`, `request_id`), so
    /// spending limits and `/info` can count the compressor's own cost.
    pub fn record_compressor(
        &mut self,
        model: &str,
        usage: &Usage,
        cost_usd: Option<f64>,
        request_id: Option<&str>,
    ) {
        self.compaction.request = RequestRecord {
            model: Some(model.to_owned()),
            usage: Some(*usage),
            cost_usd,
            request_id: request_id.map(str::to_owned),
        };
    }
}

/// Parse and check the compressor's answer.
pub fn check_summary(answer: &str) -> Result<StructuredSummary, SummaryRejected> {
    if answer.trim().is_empty() {
        return Err(SummaryRejected::Empty("the model answered nothing".into()));
    }
    let Some(object) = first_json_object(answer) else {
        let start: String = answer.trim().chars().take(60).collect();
        return Err(SummaryRejected::Malformed(format!(
            "no JSON object in the answer (it starts: {start:?})"
        )));
    };
    let goal = optional_string(&object, "goal")?;
    let summary = StructuredSummary {
        goal: goal.clone(),
        progress: optional_string(&object, "progress")?,
        decisions: string_list(&object, "decisions")?,
        constraints: string_list(&object, "constraints")?,
        files: files(&object)?,
        open_problems: string_list(&object, "open_problems")?,
        next_steps: string_list(&object, "next_steps")?,
        knowledge: knowledge_items(&object)?,
    };
    if goal.is_empty() {
        return Err(SummaryRejected::Empty(
            "\"goal\" is missing or blank; a summary must say what the work is for".into(),
        ));
    }
    Ok(summary)
}

/// The first JSON object in `text`: the whole text, or inside a code fence, or after
/// some prose. Trailing text after the object is ignored.
fn first_json_object(text: &str) -> Option<Map<String, Value>> {
    // A model may put a brace in prose before the object; try a bounded number of
    // starting points rather than every brace of a long answer.
    for (start, _) in text.match_indices('{').take(32) {
        let mut stream = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
        if let Some(Ok(Value::Object(map))) = stream.next() {
            return Some(map);
        }
    }
    None
}

fn optional_string(object: &Map<String, Value>, field: &str) -> Result<String, SummaryRejected> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.trim().to_owned()),
        Some(other) => Err(SummaryRejected::Malformed(format!(
            "\"{field}\" is {}; expected a string",
            json_kind(other)
        ))),
    }
}

/// An array of strings; a lone string counts as a one-item list, blank items are
/// dropped.
fn string_list(object: &Map<String, Value>, field: &str) -> Result<Vec<String>, SummaryRejected> {
    let items = match object.get(field) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(s)) => vec![Value::String(s.clone())],
        Some(Value::Array(items)) => items.clone(),
        Some(other) => {
            return Err(SummaryRejected::Malformed(format!(
                "\"{field}\" is {}; expected an array of strings",
                json_kind(other)
            )));
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item {
            Value::String(s) if s.trim().is_empty() => {}
            Value::String(s) => out.push(s.trim().to_owned()),
            other => {
                return Err(SummaryRejected::Malformed(format!(
                    "\"{field}[{i}]\" is {}; expected a string",
                    json_kind(other)
                )));
            }
        }
    }
    Ok(out)
}

fn files(object: &Map<String, Value>) -> Result<Vec<FileRole>, SummaryRejected> {
    let items = match object.get("files") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(SummaryRejected::Malformed(format!(
                "\"files\" is {}; expected an array of {{\"path\", \"role\"}} objects",
                json_kind(other)
            )));
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let (path, role) = match item {
            Value::String(path) => (path.trim().to_owned(), String::new()),
            Value::Object(map) => {
                let path = match map.get("path") {
                    Some(Value::String(p)) => p.trim().to_owned(),
                    _ => {
                        return Err(SummaryRejected::Malformed(format!(
                            "\"files[{i}].path\" is missing or not a string"
                        )));
                    }
                };
                let role = match map.get("role") {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(r)) => r.trim().to_owned(),
                    Some(other) => {
                        return Err(SummaryRejected::Malformed(format!(
                            "\"files[{i}].role\" is {}; expected a string",
                            json_kind(other)
                        )));
                    }
                };
                (path, role)
            }
            other => {
                return Err(SummaryRejected::Malformed(format!(
                    "\"files[{i}]\" is {}; expected {{\"path\", \"role\"}}",
                    json_kind(other)
                )));
            }
        };
        if !path.is_empty() {
            out.push(FileRole { path, role });
        }
    }
    Ok(out)
}

fn knowledge_items(object: &Map<String, Value>) -> Result<Vec<KnowledgeEntry>, SummaryRejected> {
    let items = match object.get("knowledge") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(SummaryRejected::Malformed(format!(
                "\"knowledge\" is {}; expected an array of {{\"kind\", \"text\"}} objects",
                json_kind(other)
            )));
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Value::Object(map) = item else {
            return Err(SummaryRejected::Malformed(format!(
                "\"knowledge[{i}]\" is {}; expected {{\"kind\", \"text\"}}",
                json_kind(item)
            )));
        };
        let kind = match map.get("kind") {
            Some(Value::String(k)) => knowledge::parse_kind(k).ok_or_else(|| {
                SummaryRejected::Malformed(format!(
                    "\"knowledge[{i}].kind\" is {k:?}; expected decision, constraint, \
                     preference or fact"
                ))
            })?,
            _ => {
                return Err(SummaryRejected::Malformed(format!(
                    "\"knowledge[{i}].kind\" is missing or not a string"
                )));
            }
        };
        let text = match map.get("text") {
            Some(Value::String(t)) => t.trim().to_owned(),
            _ => {
                return Err(SummaryRejected::Malformed(format!(
                    "\"knowledge[{i}].text\" is missing or not a string"
                )));
            }
        };
        if text.chars().count() > MAX_KNOWLEDGE_CHARS {
            return Err(SummaryRejected::Malformed(format!(
                "\"knowledge[{i}].text\" is longer than {MAX_KNOWLEDGE_CHARS} characters"
            )));
        }
        if !text.is_empty() {
            out.push(KnowledgeEntry { kind, text });
        }
    }
    Ok(out)
}

/// The summary as readable markdown (the compaction's `summary` field). Knowledge
/// items are not repeated here: they travel in the knowledge block.
pub fn render_markdown(summary: &StructuredSummary) -> String {
    let mut out = format!("## Goal\n{}\n", summary.goal);
    if !summary.progress.is_empty() {
        out.push_str(&format!("\n## Progress\n{}\n", summary.progress));
    }
    let mut list = |title: &str, items: &[String], numbered: bool| {
        if items.is_empty() {
            return;
        }
        out.push_str(&format!("\n## {title}\n"));
        for (i, item) in items.iter().enumerate() {
            if numbered {
                out.push_str(&format!("{}. {item}\n", i + 1));
            } else {
                out.push_str(&format!("- {item}\n"));
            }
        }
    };
    list("Decisions", &summary.decisions, false);
    list("Constraints", &summary.constraints, false);
    let files: Vec<String> = summary
        .files
        .iter()
        .map(|f| {
            if f.role.is_empty() {
                format!("`{}`", f.path)
            } else {
                format!("`{}`: {}", f.path, f.role)
            }
        })
        .collect();
    list("Files", &files, false);
    list("Open problems", &summary.open_problems, false);
    list("Next steps", &summary.next_steps, true);
    out
}

/// The compaction for a checked model summary. `kept` is the knowledge kept before
/// (the retained set the prompt showed); `retention` is `knowledge_retention`.
pub fn compaction_from_summary(
    plan: &CompressionPlan,
    summary: &StructuredSummary,
    kept: &[KnowledgeRecord],
    retention: usize,
    counter: &TokenCounter,
    focus: Option<&str>,
) -> Result<CompactionDraft, SummaryRejected> {
    draft(
        plan,
        render_markdown(summary),
        kept,
        &summary.knowledge,
        retention,
        counter,
        SummaryMethod::Model,
        focus,
    )
}

/// Assemble a compaction from a summary text, shared by every method.
#[allow(clippy::too_many_arguments)]
pub(crate) fn draft(
    plan: &CompressionPlan,
    summary_text: String,
    kept: &[KnowledgeRecord],
    candidates: &[KnowledgeEntry],
    retention: usize,
    counter: &TokenCounter,
    method: SummaryMethod,
    focus: Option<&str>,
) -> Result<CompactionDraft, SummaryRejected> {
    if summary_text.trim().is_empty() {
        return Err(SummaryRejected::Empty("the summary text is blank".into()));
    }
    let new_knowledge = knowledge::new_entries(kept, candidates);
    let after_knowledge = knowledge::retained(
        kept.iter()
            .cloned()
            .chain(new_knowledge.iter().map(KnowledgeRecord::from_entry)),
        retention,
    );
    let tokens_after = tokens_after(plan, &summary_text, &after_knowledge, counter);
    if tokens_after >= plan.tokens_before {
        return Err(SummaryRejected::NoGain {
            before: plan.tokens_before,
            after: tokens_after,
        });
    }
    let mut compaction = Compaction::new(plan.replaces, summary_text);
    compaction.knowledge = after_knowledge.iter().map(KnowledgeRecord::entry).collect();
    compaction.tokens_before = plan.tokens_before;
    compaction.tokens_after = tokens_after;
    compaction.method = Some(method.into());
    compaction.focus = focus
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_owned);
    Ok(CompactionDraft {
        compaction,
        new_knowledge,
        reached_target: tokens_after <= plan.target_tokens,
        tokens_after,
    })
}

/// The live context's size once a summary replaces the plan's prefix.
pub(crate) fn tokens_after(
    plan: &CompressionPlan,
    summary_text: &str,
    knowledge: &[KnowledgeRecord],
    counter: &TokenCounter,
) -> u64 {
    let preamble = compose_preamble(Some((plan.replaces, summary_text)), knowledge)
        .map_or(0, |text| {
            counter.count_message(&Message::text(Role::User, text))
        });
    plan.fixed_tokens + preamble + plan.tail_tokens
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KnowledgeKind;

    const GOOD: &str = r#"{"goal": "Refactor auth to JWT", "progress": "Token parsing done.",
        "decisions": ["RS256 keys, rotated weekly"], "constraints": "no unsafe",
        "files": [{"path": "src/auth.rs", "role": "token checks"}, "src/main.rs"],
        "open_problems": [], "next_steps": ["wire middleware", "add tests"],
        "knowledge": [{"kind": "Decision", "text": "use RS256"}], "extra_field": 1}"#;

    #[test]
    fn accepts_fenced_json_after_prose() {
        let answer = format!("Here is the summary {{as asked}}:\n```json\n{GOOD}\n```\nDone.");
        let s = check_summary(&answer).unwrap();
        assert_eq!(s.goal, "Refactor auth to JWT");
        assert_eq!(s.constraints, vec!["no unsafe"]);
        assert_eq!(s.files[1].path, "src/main.rs");
        assert_eq!(s.knowledge[0].kind, KnowledgeKind::Decision);
        let md = render_markdown(&s);
        assert!(md.starts_with("## Goal\nRefactor auth to JWT\n"), "{md}");
        assert!(md.contains("- `src/auth.rs`: token checks\n"));
        assert!(md.contains("## Next steps\n1. wire middleware\n2. add tests\n"));
        assert!(!md.contains("Open problems"));
    }

    #[test]
    fn refuses_empty_and_malformed_answers_with_a_reason() {
        let cases = [
            ("", "answered nothing"),
            ("   \n", "answered nothing"),
            ("I could not summarize this.", "no JSON object"),
            ("{\"goal\": \"\"}", "\"goal\" is missing or blank"),
            ("{}", "\"goal\" is missing or blank"),
            ("[1, 2]", "no JSON object"),
            ("{\"goal\": 5}", "\"goal\" is a number"),
            (
                "{\"goal\": \"g\", \"decisions\": [\"a\", 3]}",
                "\"decisions[1]\" is a number",
            ),
            (
                "{\"goal\": \"g\", \"files\": [{\"role\": \"x\"}]}",
                "\"files[0].path\"",
            ),
            (
                "{\"goal\": \"g\", \"knowledge\": [{\"kind\": \"rumour\", \"text\": \"x\"}]}",
                "\"knowledge[0].kind\" is \"rumour\"",
            ),
            (
                "{\"goal\": \"g\", \"next_steps\": {\"a\": 1}}",
                "\"next_steps\" is an object",
            ),
            ("```json\n{\"goal\": \"g\", \n```", "no JSON object"),
        ];
        for (answer, expected) in cases {
            let err = check_summary(answer).unwrap_err().to_string();
            assert!(err.contains(expected), "{answer:?} gave {err:?}");
        }
    }
}
