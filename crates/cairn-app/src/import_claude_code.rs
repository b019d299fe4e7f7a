//! Claude Code transcripts (`~/.claude/projects/<project>/<sessionId>.jsonl`) read
//! into a cairn session. The format is undocumented; what this reader knows of it:
//!
//! - Each line is a JSON object with a `type`. `user`, `assistant` and `system`
//!   lines form a tree through `uuid` / `parentUuid`; the live branch is the path
//!   from the newest leaf to the root. A `compact_boundary` system line starts a new
//!   root whose `logicalParentUuid` points back into the history it compacted.
//! - One API response is written as several `assistant` lines sharing
//!   `message.id`, each with one content block and the same `usage`: they become
//!   one message whose usage counts once.
//! - Tool results come back in `user` lines as `tool_result` blocks naming their
//!   call by `tool_use_id`.
//! - A `compact_boundary` followed by a user line with `isCompactSummary` is a
//!   compaction: the summary replaces everything before it.
//! - Sub-agent transcripts (`<sessionId>/subagents/agent-*.jsonl`, or older
//!   `agent-*.jsonl` beside the session with `isSidechain`) carry the parent's
//!   `sessionId`.
//! - Bookkeeping lines (`summary`, `custom-title`, `file-history-snapshot`,
//!   `queue-operation`, …) give the title when they carry one.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, SyncSender};

use cairn_core::event::ToolResultContent;
use cairn_core::jsonl::Header;
use cairn_core::{
    Compaction, ContentBlock, Event, Message, Payload, Project, Role, SessionName, Timestamp, Usage,
};
use cairn_llm::{ModelRef, PriceTable, ProviderKind};
use serde_json::{Map, Value};

use crate::claude_code_branches::{Plan, TreeNode, split};
use crate::claude_code_line::LineMeta;
use crate::import_transcripts::agent_parent;
use crate::transcript::{
    Branch, EventLog, Lines, Skipped, Transcript, cost, count, image, timestamp,
};

pub const SOURCE: &str = "claude-code";

/// What the first pass keeps of a line: its place in the tree and, for the
/// conversation's own lines, its raw bytes, parsed whole only when it is on the
/// live branch. (Holding every line parsed took about eight times the file.)
struct Link {
    line: u64,
    uuid: String,
    parent: Option<String>,
    logical_parent: Option<String>,
    kind: String,
    message_id: Option<String>,
    timestamp: Option<String>,
    raw: Vec<u8>,
}

/// A line of the live branch, parsed.
struct Node {
    line: u64,
    entry: Map<String, Value>,
}

/// Reads the whole transcript at `path`.
pub fn read(path: &Path, prices: &PriceTable) -> Result<Transcript, String> {
    let (mut transcript, mut live, rest) = open(path, prices)?;
    transcript.events = live.by_ref().map(|(event, _)| event).collect();
    rest.finish(&mut transcript)?;
    Ok(transcript)
}

/// Reads the tree of the transcript at `path` (the first pass) and returns it with
/// its live branch still to convert: the transcript without its events, model,
/// branches, skip counts or problems; the live branch's events, converted as they
/// are taken (on the import's reading thread, ahead of the store); and what gives
/// the rest once they are all taken.
pub fn open(path: &Path, prices: &PriceTable) -> Result<(Transcript, LiveEvents, Rest), String> {
    let mut lines = Lines::open(path)?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("session")
        .to_owned();
    let is_agent_file = stem.starts_with("agent-");
    let mut nodes: Vec<Link> = Vec::new();
    let mut session_id: Option<String> = None;
    let mut cwd: Option<String> = None;
    let mut custom_title: Option<String> = None;
    let mut summary_title: Option<String> = None;
    while let Some(line) = lines.next_line() {
        let meta = match serde_json::from_slice::<LineMeta>(&line.bytes) {
            Ok(meta) => meta,
            Err(e) if e.classify() == serde_json::error::Category::Data => {
                lines.problem(
                    line.number,
                    "not a JSON object",
                    "the line is JSON but not an object",
                );
                continue;
            }
            Err(e) => {
                lines.problem(line.number, "not JSON", e);
                continue;
            }
        };
        let Some(kind) = meta.kind else {
            lines.problem(line.number, "no \"type\" field", "line skipped");
            continue;
        };
        if session_id.is_none() {
            session_id = meta.session_id;
        }
        match kind.as_str() {
            "custom-title" => {
                custom_title = title(meta.custom_title).or(custom_title);
                lines.skipped.add("bookkeeping (title kept)");
                continue;
            }
            "summary" | "ai-title" | "title" => {
                summary_title = title(meta.summary)
                    .or_else(|| title(meta.title))
                    .or(summary_title);
                lines.skipped.add("bookkeeping (title kept)");
                continue;
            }
            _ => {}
        }
        // Lines of other types that carry a `uuid` (attachments, progress, …) are
        // links of the tree: kept as nodes, counted as skipped when converting.
        if !is_message_kind(&kind) && meta.uuid.is_none() {
            lines.skipped.add(skip_reason(&kind));
            continue;
        }
        if !is_agent_file && meta.is_sidechain == Some(true) {
            lines
                .skipped
                .add("sidechain (sub-agent) line in the main transcript");
            continue;
        }
        let Some(uuid) = meta.uuid else {
            lines.problem(line.number, "no \"uuid\"", format!("{kind} line skipped"));
            continue;
        };
        if cwd.is_none() {
            cwd = meta.cwd;
        }
        let converted = is_message_kind(&kind);
        nodes.push(Link {
            line: line.number,
            uuid,
            parent: meta.parent,
            logical_parent: meta.logical_parent,
            message_id: meta.message_id,
            timestamp: meta.timestamp,
            raw: if converted { line.bytes } else { Vec::new() },
            kind,
        });
    }
    let branch = live_branch(&nodes, &mut lines);
    // The same ids as `import_transcripts::identify` gives before reading.
    let (original_id, parent_original_id) = if is_agent_file {
        let parent = agent_parent(path)?
            .or(session_id)
            .unwrap_or_else(|| "unknown".to_owned());
        (format!("{parent}/{stem}"), Some(parent))
    } else {
        (stem.clone(), None)
    };
    let plan = split_branches(&nodes, &branch);
    for &index in &plan.unconnected {
        let node = &nodes[index];
        if matches!(node.kind.as_str(), "user" | "assistant") {
            lines
                .skipped
                .add("off the live branch and not connected to it");
        } else if !is_message_kind(&node.kind) {
            lines.skipped.add(skip_reason(&node.kind));
        }
    }
    let first_line_ts = nodes
        .first()
        .and_then(|n| n.timestamp.as_deref())
        .and_then(|raw| raw.parse().ok());
    let consumed = lines.consumed();
    let fingerprint = lines.fingerprint();
    let (finished, rest) = mpsc::sync_channel(1);
    let mut live = LiveEvents {
        conversion: Some(Conversion {
            convert: Convert::new(Arc::new(prices.clone()), State::default(), 0),
            nodes,
            live: branch,
            at: 0,
            plan,
            lines,
            snapshots: HashMap::new(),
        }),
        pending: VecDeque::new(),
        finished,
    };
    // The session is created at its first event: converted here, before the rest
    // goes to another thread.
    let created_at = live
        .first_ts()
        .or(first_line_ts)
        .unwrap_or_else(Timestamp::now);
    let project = cwd
        .as_deref()
        .map(project_of)
        .unwrap_or_else(|| Project::from_stored(""));
    // A sub-agent is named after its parent's short id and its own.
    let short_id = match &parent_original_id {
        Some(parent) => format!(
            "{}-{}",
            first_chars(parent),
            first_chars(stem.trim_start_matches("agent-"))
        ),
        None => first_chars(&original_id),
    };
    let name = default_name("cc", created_at, &short_id)?;
    let mut header = Header::new(&name, project, created_at);
    header.title = custom_title.or(summary_title);
    let transcript = Transcript {
        path: path.to_owned(),
        source: SOURCE,
        original_id,
        header,
        cwd,
        events: Vec::new(),
        consumed,
        fingerprint,
        skipped: Skipped::default(),
        problems: Vec::new(),
        parent_original_id,
        forked_from: None,
        branches: Vec::new(),
    };
    Ok((transcript, live, Rest(rest)))
}

/// The live branch's events, each with the size of the lines it came from,
/// converted a response at a time as they are taken.
pub struct LiveEvents {
    /// `None` once the branch is converted and handed back.
    conversion: Option<Conversion>,
    pending: VecDeque<(Event, usize)>,
    finished: SyncSender<Conversion>,
}

/// The conversion of a transcript's live branch, under way.
struct Conversion {
    nodes: Vec<Link>,
    live: Vec<usize>,
    /// The next line of `live` to convert.
    at: usize,
    plan: Plan,
    convert: Convert,
    lines: Lines,
    snapshots: HashMap<usize, (State, u64)>,
}

impl LiveEvents {
    /// The time of the first event, converting as far as it.
    fn first_ts(&mut self) -> Option<Timestamp> {
        while self.pending.is_empty() {
            let conversion = self.conversion.as_mut()?;
            if !conversion.step(&mut self.pending) {
                break;
            }
        }
        self.pending.front().map(|(event, _)| event.ts)
    }
}

impl Iterator for LiveEvents {
    type Item = (Event, usize);

    fn next(&mut self) -> Option<(Event, usize)> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            let conversion = self.conversion.as_mut()?;
            if !conversion.step(&mut self.pending) {
                if let Some(done) = self.conversion.take() {
                    // The receiver is gone only when the import stopped already.
                    let _ = self.finished.send(done);
                }
                return None;
            }
        }
    }
}

impl Conversion {
    /// Converts the next response (or line) of the live branch into `out`;
    /// `false` at the branch's end.
    fn step(&mut self, out: &mut VecDeque<(Event, usize)>) -> bool {
        if self.at >= self.live.len() {
            return false;
        }
        let (next, bytes) = convert_group(
            &mut self.nodes,
            &self.live,
            self.at,
            &mut self.convert,
            &mut self.lines,
            &self.plan.joins,
            &mut self.snapshots,
        );
        self.at = next;
        let mut bytes = Some(bytes);
        out.extend(
            self.convert
                .log
                .take()
                .into_iter()
                .map(|event| (event, bytes.take().unwrap_or(0))),
        );
        true
    }
}

/// What a transcript still needs once its live events are all taken.
pub struct Rest(Receiver<Conversion>);

impl Rest {
    /// Converts the branches and gives `transcript` its model, branches, skip
    /// counts and problems; returns how many events the live branch gave.
    pub fn finish(self, transcript: &mut Transcript) -> Result<u64, String> {
        let Conversion {
            mut nodes,
            plan,
            convert,
            mut lines,
            mut snapshots,
            ..
        } = self.0.recv().map_err(|_| {
            format!(
                "{}: its reading stopped before the end",
                transcript.path.display()
            )
        })?;
        transcript.header.model = convert.state.model.as_ref().map(ToString::to_string);
        transcript.branches = convert_branches(
            &convert.prices,
            &mut nodes,
            &plan,
            &mut lines,
            &mut snapshots,
        );
        transcript.skipped = lines.skipped;
        transcript.problems = lines.problems;
        Ok(convert.log.head())
    }
}

/// The project of a transcript's working directory: cairn's project rule when
/// the folder exists here, else the path as written.
pub fn project_of(cwd: &str) -> Project {
    let path = Path::new(cwd);
    if path.is_dir()
        && let Ok(project) = Project::detect(path)
    {
        return project;
    }
    Project::from_stored(cwd)
}

/// `PREFIX-YYYY-MM-DD-SHORT`, SHORT being a short id made of letters, digits and `-`.
pub fn default_name(
    prefix: &str,
    created_at: Timestamp,
    short: &str,
) -> Result<SessionName, String> {
    let date = created_at.strftime("%Y-%m-%d").to_string();
    let short = if short.is_empty() { "x" } else { short };
    SessionName::parse(&format!("{prefix}-{date}-{short}")).map_err(|e| e.to_string())
}

/// The first 8 letters and digits of an id (a uuid's first group).
pub fn first_chars(id: &str) -> String {
    id.chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect()
}

fn title(raw: Option<String>) -> Option<String> {
    raw.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

fn short(raw: &str) -> String {
    raw.chars().take(40).collect()
}

fn is_message_kind(kind: &str) -> bool {
    matches!(kind, "user" | "assistant" | "system")
}

/// Why a line of `kind` is not converted.
fn skip_reason(kind: &str) -> String {
    match kind {
        "file-history-snapshot" | "queue-operation" | "progress" | "attachment" | "last-prompt" => {
            format!("bookkeeping ({kind})")
        }
        other => format!("unknown type {}", short(other)),
    }
}

fn kind_of(node: &Node) -> &str {
    node.entry.get("type").and_then(Value::as_str).unwrap_or("")
}

/// The line of `link` parsed whole (its raw bytes are let go: each line of the
/// branch is converted once).
fn parse(link: &mut Link, lines: &mut Lines) -> Option<Node> {
    let raw = std::mem::take(&mut link.raw);
    match serde_json::from_slice::<Map<String, Value>>(&raw) {
        Ok(entry) => Some(Node {
            line: link.line,
            entry,
        }),
        Err(e) => {
            lines.problem(link.line, "not JSON", e);
            None
        }
    }
}

/// The path from the newest leaf back to the root, root first. A missing parent
/// or a cycle ends the walk there, with a problem reported.
fn live_branch(nodes: &[Link], lines: &mut Lines) -> Vec<usize> {
    let by_uuid: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.uuid.as_str(), i))
        .collect();
    let parents: HashSet<&str> = nodes
        .iter()
        .flat_map(|n| n.parent.iter().chain(n.logical_parent.iter()))
        .map(String::as_str)
        .collect();
    let Some(leaf) = nodes
        .iter()
        .rposition(|n| !parents.contains(n.uuid.as_str()))
        .or(nodes.len().checked_sub(1))
    else {
        return Vec::new();
    };
    let mut branch = vec![leaf];
    let mut seen: HashSet<usize> = HashSet::from([leaf]);
    let mut at = leaf;
    loop {
        let node = &nodes[at];
        let up = node.parent.as_ref().or(node.logical_parent.as_ref());
        let Some(up) = up else { break };
        let Some(&next) = by_uuid.get(up.as_str()) else {
            lines.problem(
                node.line,
                "missing parent",
                format!(
                    "parentUuid {} is in no line; the branch starts here",
                    short(up)
                ),
            );
            break;
        };
        if !seen.insert(next) {
            lines.problem(
                node.line,
                "cycle in parentUuid",
                format!(
                    "parentUuid {} leads back to this branch; the branch starts here",
                    short(up)
                ),
            );
            break;
        }
        branch.push(next);
        at = next;
    }
    branch.reverse();
    branch
}

/// The branches off the live one (`live`: its lines, root first).
fn split_branches(nodes: &[Link], live: &[usize]) -> Plan {
    let tree: Vec<TreeNode> = nodes
        .iter()
        .map(|n| TreeNode {
            uuid: &n.uuid,
            up: n.parent.as_deref().or(n.logical_parent.as_deref()),
            is_message: is_message_kind(&n.kind),
        })
        .collect();
    split(&tree, live)
}

/// Converts the lines of `path` (root side first) into `convert`; after each
/// line some branch leaves from (`joins`), keeps the state and seq there.
fn convert_path(
    nodes: &mut [Link],
    path: &[usize],
    convert: &mut Convert,
    lines: &mut Lines,
    joins: &HashSet<usize>,
    snapshots: &mut HashMap<usize, (State, u64)>,
) {
    let mut i = 0;
    while i < path.len() {
        (i, _) = convert_group(nodes, path, i, convert, lines, joins, snapshots);
    }
}

/// Converts the line of `path` at `i`, with the lines after it of the same
/// response; returns where the next group starts and the bytes of this one.
fn convert_group(
    nodes: &mut [Link],
    path: &[usize],
    i: usize,
    convert: &mut Convert,
    lines: &mut Lines,
    joins: &HashSet<usize>,
    snapshots: &mut HashMap<usize, (State, u64)>,
) -> (usize, usize) {
    let link = &nodes[path[i]];
    // Consecutive assistant lines of one response are one message.
    let group_end = match link.message_id.as_deref() {
        Some(id) if link.kind == "assistant" => {
            let mut end = i + 1;
            while end < path.len()
                && nodes[path[end]].kind == "assistant"
                && nodes[path[end]].message_id.as_deref() == Some(id)
            {
                end += 1;
            }
            end
        }
        _ => i + 1,
    };
    let mut bytes = 0;
    let mut group: Vec<Node> = Vec::with_capacity(group_end - i);
    for &n in &path[i..group_end] {
        let link = &mut nodes[n];
        bytes += link.raw.len();
        if is_message_kind(&link.kind) {
            group.extend(parse(link, lines));
        } else {
            lines.skipped.add(skip_reason(&link.kind));
        }
    }
    let group: Vec<&Node> = group.iter().collect();
    convert.node_group(&group, lines);
    for &n in &path[i..group_end] {
        if joins.contains(&n) {
            snapshots.insert(n, (convert.state.clone(), convert.log.head()));
        }
    }
    (group_end, bytes)
}

/// Converts each branch of `plan` from the state where it leaves its parent. A
/// branch with nothing to keep is dropped; its own branches then leave its parent.
fn convert_branches(
    prices: &Arc<PriceTable>,
    nodes: &mut [Link],
    plan: &Plan,
    lines: &mut Lines,
    snapshots: &mut HashMap<usize, (State, u64)>,
) -> Vec<Branch> {
    let mut out: Vec<Branch> = Vec::new();
    // Per planned branch: the branch of `out` its events went to (or its
    // nearest ancestor's when it had none; `None`: the live branch).
    let mut kept: Vec<Option<usize>> = Vec::with_capacity(plan.branches.len());
    for planned in &plan.branches {
        let (state, fork_seq) = snapshots.get(&planned.join).cloned().unwrap_or_default();
        let mut convert = Convert::new(Arc::clone(prices), state, fork_seq);
        convert_path(
            nodes,
            &planned.nodes,
            &mut convert,
            lines,
            &plan.joins,
            snapshots,
        );
        let parent = planned.parent.and_then(|p| kept.get(p).copied().flatten());
        if convert.log.events.is_empty() {
            kept.push(parent);
            continue;
        }
        out.push(Branch {
            id: nodes[planned.nodes[0]].uuid.clone(),
            parent,
            fork_seq,
            events: convert.log.events,
        });
        kept.push(Some(out.len() - 1));
    }
    out
}

/// What converting a path carries from one line to the next, besides its events:
/// copied where a branch leaves, so the branch goes on from there.
#[derive(Clone, Default)]
struct State {
    /// Tool call ids seen so far on the path.
    calls: HashSet<String>,
    /// A compact boundary waiting for its summary: (pre-compaction tokens).
    pending_compaction: Option<u64>,
    model: Option<ModelRef>,
    last_ts: Option<Timestamp>,
}

struct Convert {
    /// Shared with the branches' conversions (the live one runs on another thread).
    prices: Arc<PriceTable>,
    log: EventLog,
    state: State,
}

impl Convert {
    fn new(prices: Arc<PriceTable>, state: State, base: u64) -> Self {
        Convert {
            prices,
            log: EventLog::after(base),
            state,
        }
    }
}

impl Convert {
    fn ts(&mut self, node: &Node) -> Timestamp {
        let ts = timestamp(node.entry.get("timestamp"))
            .or(self.state.last_ts)
            .unwrap_or_else(Timestamp::now);
        self.state.last_ts = Some(ts);
        ts
    }

    fn node_group(&mut self, group: &[&Node], lines: &mut Lines) {
        let Some(first) = group.first() else { return };
        match kind_of(first) {
            "assistant" => self.assistant(group, lines),
            "user" => self.user(first, lines),
            "system" => self.system(first, lines),
            other => lines.skipped.add(skip_reason(other)),
        }
    }

    fn system(&mut self, node: &Node, lines: &mut Lines) {
        let subtype = node
            .entry
            .get("subtype")
            .and_then(Value::as_str)
            .unwrap_or("");
        if subtype == "compact_boundary" {
            let pre = node
                .entry
                .get("compactMetadata")
                .map(|m| count(m, "preTokens"))
                .unwrap_or(0);
            self.state.pending_compaction = Some(pre);
            return;
        }
        lines.skipped.add(format!(
            "system line ({})",
            short(if subtype.is_empty() {
                "no subtype"
            } else {
                subtype
            })
        ));
    }

    fn user(&mut self, node: &Node, lines: &mut Lines) {
        let ts = self.ts(node);
        let Some(message) = node.entry.get("message") else {
            lines.problem(node.line, "user line without \"message\"", "skipped");
            return;
        };
        let is_summary = node.entry.get("isCompactSummary").and_then(Value::as_bool) == Some(true);
        if let Some(tokens_before) = self.state.pending_compaction.take() {
            if is_summary && self.log.head() > 0 {
                let summary = plain_text(message.get("content"));
                self.log.push(
                    ts,
                    Payload::Compaction(Compaction {
                        tokens_before,
                        ..Compaction::new([1, self.log.head()], summary)
                    }),
                );
                return;
            }
            if !is_summary {
                lines.problem(
                    node.line,
                    "compact boundary without summary",
                    "the boundary is ignored",
                );
            }
        }
        let (results, rest) = match message.get("content") {
            Some(Value::String(text)) => (Vec::new(), vec![ContentBlock::text(text.clone())]),
            Some(Value::Array(blocks)) => self.user_blocks(blocks, node.line, lines),
            _ => {
                lines.problem(node.line, "user message without content", "skipped");
                return;
            }
        };
        if !results.is_empty() {
            self.log
                .push(ts, Payload::Message(Message::new(Role::Tool, results)));
        }
        if !rest.is_empty() {
            self.log
                .push(ts, Payload::Message(Message::new(Role::User, rest)));
        }
    }

    /// (tool results, everything else) of a user line's blocks.
    fn user_blocks(
        &mut self,
        blocks: &[Value],
        line: u64,
        lines: &mut Lines,
    ) -> (Vec<ContentBlock>, Vec<ContentBlock>) {
        let mut results = Vec::new();
        let mut rest = Vec::new();
        for block in blocks {
            match block.get("type").and_then(Value::as_str).unwrap_or("") {
                "tool_result" => {
                    let id = block
                        .get("tool_use_id")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    if !self.state.calls.contains(id) {
                        lines.problem(
                            line,
                            "tool result without call",
                            format!("tool_use_id {:?} names no earlier tool_use", short(id)),
                        );
                        continue;
                    }
                    let content = match block.get("content") {
                        Some(Value::String(text)) => ToolResultContent::Text(text.clone()),
                        Some(Value::Array(inner)) => ToolResultContent::Blocks(
                            inner
                                .iter()
                                .filter_map(|b| media_or_text(b, line, lines))
                                .collect(),
                        ),
                        _ => ToolResultContent::Text(String::new()),
                    };
                    results.push(ContentBlock::ToolResult {
                        tool_use_id: id.to_owned(),
                        content,
                        is_error: block
                            .get("is_error")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                    });
                }
                _ => {
                    if let Some(b) = media_or_text(block, line, lines) {
                        rest.push(b);
                    }
                }
            }
        }
        (results, rest)
    }

    fn assistant(&mut self, group: &[&Node], lines: &mut Lines) {
        let Some(first) = group.first() else { return };
        let ts = self.ts(first);
        let mut content = Vec::new();
        let mut usage = None;
        let mut model = None;
        let mut request_id = None;
        for node in group {
            let Some(message) = node.entry.get("message") else {
                lines.problem(node.line, "assistant line without \"message\"", "skipped");
                continue;
            };
            // Claude Code writes "<synthetic>" for messages no model made.
            if let Some(raw) = message.get("model").and_then(Value::as_str)
                && !raw.starts_with('<')
            {
                model = Some(ModelRef::new(ProviderKind::Anthropic, raw));
            }
            request_id = message.get("id").and_then(Value::as_str).map(str::to_owned);
            // Every line of a response repeats its usage; the last is the final one.
            if let Some(u) = message.get("usage") {
                usage = Some(Usage {
                    input_tokens: count(u, "input_tokens"),
                    output_tokens: count(u, "output_tokens"),
                    cache_read_tokens: count(u, "cache_read_input_tokens"),
                    cache_write_tokens: count(u, "cache_creation_input_tokens"),
                    reasoning_tokens: 0,
                });
            }
            match message.get("content") {
                Some(Value::String(text)) if !text.is_empty() => {
                    content.push(ContentBlock::text(text.clone()))
                }
                Some(Value::Array(blocks)) => {
                    for block in blocks {
                        self.assistant_block(block, node.line, lines, &mut content);
                    }
                }
                _ => {}
            }
        }
        if content.is_empty() {
            lines.skipped.add("assistant line with nothing to keep");
            return;
        }
        let mut message = Message::new(Role::Assistant, content);
        if model.is_none() {
            usage = None;
        }
        message.cost_usd = usage
            .as_ref()
            .and_then(|u| cost(&self.prices, model.as_ref(), u));
        message.usage = usage;
        message.model = model.as_ref().map(ToString::to_string);
        message.request_id = request_id;
        if model.is_some() {
            self.state.model = model;
        }
        self.log.push(ts, Payload::Message(message));
    }

    fn assistant_block(
        &mut self,
        block: &Value,
        line: u64,
        lines: &mut Lines,
        content: &mut Vec<ContentBlock>,
    ) {
        match block.get("type").and_then(Value::as_str).unwrap_or("") {
            "text" => {
                if let Some(text) = block
                    .get("text")
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                {
                    content.push(ContentBlock::text(text));
                }
            }
            "thinking" => {
                if let Some(text) = block
                    .get("thinking")
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                {
                    content.push(ContentBlock::Thinking {
                        text: text.to_owned(),
                        signature: block
                            .get("signature")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                    });
                }
            }
            "tool_use" => {
                let (Some(id), Some(name)) = (
                    block.get("id").and_then(Value::as_str),
                    block.get("name").and_then(Value::as_str),
                ) else {
                    lines.problem(line, "tool_use without id or name", "block skipped");
                    return;
                };
                if !self.state.calls.insert(id.to_owned()) {
                    lines.skipped.add("duplicate tool_use");
                    return;
                }
                content.push(ContentBlock::ToolUse {
                    id: id.to_owned(),
                    name: name.to_owned(),
                    input: block
                        .get("input")
                        .cloned()
                        .unwrap_or(Value::Object(Map::new())),
                });
            }
            other => lines.skipped.add(format!("unknown block {}", short(other))),
        }
    }
}

/// A text or image block of a user line or tool result; other blocks are counted.
fn media_or_text(block: &Value, line: u64, lines: &mut Lines) -> Option<ContentBlock> {
    match block.get("type").and_then(Value::as_str).unwrap_or("") {
        "text" => block
            .get("text")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(ContentBlock::text),
        "image" => {
            let source = block.get("source")?;
            let mime = source
                .get("media_type")
                .and_then(Value::as_str)
                .unwrap_or("image/png");
            let data = source.get("data").and_then(Value::as_str).unwrap_or("");
            let found = image(mime, data);
            if found.is_none() {
                lines.problem(line, "image is not base64", "image block skipped");
            }
            found
        }
        other => {
            lines.skipped.add(format!("unknown block {}", short(other)));
            None
        }
    }
}

/// The text of a message's content, string or blocks.
fn plain_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(uuid: &str, parent: Option<&str>, kind: &str, message: Value) -> String {
        serde_json::json!({
            "type": kind, "uuid": uuid, "parentUuid": parent, "sessionId": "s1",
            "timestamp": "2026-01-05T09:00:00Z", "cwd": "/nowhere", "message": message,
        })
        .to_string()
    }

    #[test]
    fn the_live_branch_converts_as_it_is_taken_and_the_rest_comes_at_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abcdef12-0000.jsonl");
        let reply = |id: &str, text: &str| {
            serde_json::json!({"id": id, "model": "claude-sonnet-4-5", "role": "assistant",
                "content": [{"type": "text", "text": text}],
                "usage": {"input_tokens": 10, "output_tokens": 5}})
        };
        let lines = [
            line("u1", None, "user", serde_json::json!({"content": "first"})),
            line("a1", Some("u1"), "assistant", reply("m1", "one")),
            line(
                "u2",
                Some("a1"),
                "user",
                serde_json::json!({"content": "second"}),
            ),
            // An edit of the second question: a branch off the live one.
            line(
                "u3",
                Some("a1"),
                "user",
                serde_json::json!({"content": "again"}),
            ),
            line("a2", Some("u3"), "assistant", reply("m2", "two")),
        ];
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let prices = PriceTable::default();

        let (mut opened, live, rest) = open(&path, &prices).unwrap();
        // Before the events are taken: what the session is created with.
        assert!(opened.events.is_empty() && opened.branches.is_empty());
        assert_eq!(opened.header.model, None);
        assert_eq!(opened.header.created_at.to_string(), "2026-01-05T09:00:00Z");
        let events: Vec<Event> = live.map(|(event, _)| event).collect();
        assert_eq!(rest.finish(&mut opened).unwrap(), 4);
        assert_eq!(
            opened.header.model.as_deref(),
            Some("anthropic:claude-sonnet-4-5")
        );
        assert_eq!(opened.branches.len(), 1);

        // The same as reading it whole.
        let whole = read(&path, &prices).unwrap();
        let seqs = |events: &[Event]| events.iter().map(|e| e.seq).collect::<Vec<_>>();
        assert_eq!(seqs(&events), [1, 2, 3, 4]);
        assert_eq!(format!("{:?}", whole.events), format!("{events:?}"));
        assert_eq!(whole.header.model, opened.header.model);
        assert_eq!(whole.fingerprint, opened.fingerprint);
        assert_eq!(whole.skipped, opened.skipped);
    }

    #[test]
    fn a_stream_dropped_before_its_end_leaves_no_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abcdef12-0001.jsonl");
        let text = [
            line("u1", None, "user", serde_json::json!({"content": "first"})),
            line(
                "u2",
                Some("u1"),
                "user",
                serde_json::json!({"content": "second"}),
            ),
        ]
        .join("\n")
            + "\n";
        std::fs::write(&path, text).unwrap();
        let prices = PriceTable::default();
        let (mut opened, mut live, rest) = open(&path, &prices).unwrap();
        assert!(live.next().is_some());
        drop(live);
        let err = rest.finish(&mut opened).unwrap_err();
        assert!(err.contains("stopped before the end"), "{err}");
    }
}
