//! `cairn sessions context`: the live context as a model gets it on resume, or
//! (`--all`) the whole history with compaction boundaries marked.
//!
//! Resume must be O(live context) (invariant 3), and so is this command: without
//! `--all` it reads only what `Store::live_context` reads, and with `--all` it pages
//! through the history and streams it, so memory stays flat however long it is.

use std::io::Write;

use cairn_core::{ContentBlock, Error, Event, LiveContext, Payload, Role, Session, live_messages};
use serde_json::json;

use super::find;
use crate::app::App;
use crate::args::sessions::ContextArgs;
use crate::output::{self, Style};

/// Events per page when walking the whole history.
const PAGE: u32 = 500;

pub(super) async fn run(app: &App, args: ContextArgs) -> anyhow::Result<()> {
    let name = args.name.clone();
    let role = args.role;
    // Reading a store that was never created would create it (and its folder).
    let Some(store) = app.existing_store().await? else {
        return Err(Error::not_found("session", name.to_string()).into());
    };
    let session = find(store.as_ref(), &name).await?;
    let mut printer = Printer {
        out: output::stdout(),
        style: Style::detect(),
        json: args.json,
        role,
        first_event: true,
    };
    if let Some(min_bytes) = args.large {
        let events = store.large_events(session.id, min_bytes, args.all).await?;
        printer.open(&session, if args.all { "all" } else { "live" }, None)?;
        if !args.json {
            let place = if args.all { "history" } else { "live context" };
            let header = format!(
                "── events of at least {} in the {place} ──",
                output::bytes(min_bytes)
            );
            writeln!(printer.out, "{}", printer.style.bold(&header))?;
        }
        for sized in &events {
            printer.event(&sized.event, Some(sized.bytes))?;
        }
        printer.close()?;
    } else if args.all {
        printer.open(&session, "all", None)?;
        let mut after = 0;
        loop {
            let page = store.events_after(session.id, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for event in &page {
                if event.seq == session.context_start_seq
                    && session.compaction_seq.is_some()
                    && !args.json
                {
                    let mark = format!("── live context starts here (seq {}) ──", event.seq);
                    writeln!(printer.out, "\n{}", printer.style.bold(&mark))?;
                }
                printer.event(event, None)?;
            }
            if page.len() < PAGE as usize {
                break;
            }
        }
        printer.close()?;
    } else {
        let retention = app.settings.compression.knowledge_retention;
        let live = store.live_context(session.id, retention).await?;
        // Only messages reach the model; other live events (knowledge, commands)
        // travel in the preamble or not at all. `--all` shows them.
        printer.open(&session, "live", Some(&live))?;
        if !args.json {
            printer.preamble(&live)?;
        }
        for event in live
            .events
            .iter()
            .filter(|e| e.payload.as_message().is_some())
        {
            printer.event(event, None)?;
        }
        printer.close()?;
    }
    Ok(())
}

struct Printer<W: Write> {
    out: W,
    style: Style,
    json: bool,
    role: Option<Role>,
    first_event: bool,
}

impl<W: Write> Printer<W> {
    fn wanted(&self, event: &Event) -> bool {
        match self.role {
            None => true,
            Some(role) => event.payload.as_message().is_some_and(|m| m.role == role),
        }
    }

    /// Starts the JSON document; events are then written one per line inside
    /// its `events` array, so a long history streams instead of piling up.
    fn open(
        &mut self,
        session: &Session,
        mode: &str,
        live: Option<&LiveContext>,
    ) -> std::io::Result<()> {
        if !self.json {
            return Ok(());
        }
        let mut head = serde_json::Map::new();
        head.insert("session".into(), json!(session.name));
        head.insert("mode".into(), json!(mode));
        if let Some(live) = live {
            let preamble = match self.role {
                None | Some(Role::User) => live_messages::preamble_text(live),
                Some(_) => None,
            };
            head.insert("preamble".into(), json!(preamble));
            head.insert("compaction".into(), serde_json::to_value(&live.compaction)?);
            head.insert("knowledge".into(), serde_json::to_value(&live.knowledge)?);
        }
        let text = serde_json::to_string(&head)?;
        // Reopen the object (never empty: it has "session") to stream the array.
        let text = text.strip_suffix('}').unwrap_or(&text);
        write!(self.out, "{text},\"events\":[")?;
        Ok(())
    }

    fn close(&mut self) -> std::io::Result<()> {
        if self.json {
            writeln!(self.out, "\n]}}")?;
        } else if self.first_event {
            writeln!(self.out, "(no events)")?;
        }
        self.out.flush()
    }

    /// The summary and knowledge block that open a resumed context, as the model
    /// gets them (one user message built by `live_messages::preamble_text`).
    fn preamble(&mut self, live: &LiveContext) -> std::io::Result<()> {
        if self.role.is_some_and(|r| r != Role::User) {
            return Ok(());
        }
        let Some(text) = live_messages::preamble_text(live) else {
            return Ok(());
        };
        let header = match live.compaction.as_ref().map(|e| (e.seq, &e.payload)) {
            Some((seq, Payload::Compaction(c))) => format!(
                "── preamble (user): compaction at seq {seq} of seq {}–{}, {} → {} tokens ──",
                c.replaces[0],
                c.replaces[1],
                output::grouped(c.tokens_before),
                output::grouped(c.tokens_after)
            ),
            _ => "── preamble (user): knowledge ──".to_owned(),
        };
        writeln!(self.out, "{}", self.style.bold(&header))?;
        writeln!(self.out, "{}", output::printable(text.trim_end()))?;
        writeln!(self.out)?;
        let messages = live
            .events
            .iter()
            .filter(|e| e.payload.as_message().is_some() && self.wanted(e))
            .count();
        let header = format!("── live messages ({messages}) ──");
        writeln!(self.out, "{}", self.style.bold(&header))?;
        Ok(())
    }

    fn event(&mut self, event: &Event, bytes: Option<u64>) -> std::io::Result<()> {
        if !self.wanted(event) {
            return Ok(());
        }
        let first = std::mem::replace(&mut self.first_event, false);
        if self.json {
            if !first {
                self.out.write_all(b",")?;
            }
            self.out.write_all(b"\n")?;
            match bytes {
                Some(bytes) => serde_json::to_writer(
                    &mut self.out,
                    &json!({ "bytes": bytes, "event": event }),
                )?,
                None => serde_json::to_writer(&mut self.out, event)?,
            }
            return Ok(());
        }
        if !first {
            writeln!(self.out)?;
        }
        let mut head = format!("#{} {}", event.seq, describe_kind(event));
        head.push_str(" · ");
        head.push_str(&output::exact_time(event.ts));
        if let Some(bytes) = bytes {
            head.push_str(" · ");
            head.push_str(&output::bytes(bytes));
        }
        if let Some(m) = event.payload.as_message() {
            if let Some(model) = &m.model {
                head.push_str(" · ");
                head.push_str(&output::printable(model));
            }
            if let Some(usage) = &m.usage {
                head.push_str(&format!(" · {} tokens", output::grouped(usage.total())));
            }
            if let Some(cost) = m.cost_usd {
                head.push_str(" · ");
                head.push_str(&output::cost(cost));
            }
        }
        match &event.payload {
            Payload::Compaction(c) => {
                let [first, last] = c.replaces;
                let mark = format!(
                    "── #{} compaction · replaces seq {first}–{last} · {} → {} tokens ──",
                    event.seq,
                    output::grouped(c.tokens_before),
                    output::grouped(c.tokens_after)
                );
                writeln!(self.out, "{}", self.style.bold(&mark))?;
                writeln!(self.out, "{}", output::printable(c.summary.trim_end()))?;
                for k in &c.knowledge {
                    writeln!(
                        self.out,
                        "- {}: {}",
                        k.kind.as_str(),
                        output::printable(&k.text)
                    )?;
                }
            }
            Payload::Message(m) => {
                writeln!(self.out, "{}", self.style.bold(&head))?;
                for block in &m.content {
                    self.block(block)?;
                }
            }
            Payload::Knowledge(k) => {
                writeln!(self.out, "{}", self.style.bold(&head))?;
                let pinned = if k.pinned { " (pinned)" } else { "" };
                writeln!(
                    self.out,
                    "{}: {}{pinned}",
                    k.knowledge_kind.as_str(),
                    output::printable(&k.text)
                )?;
            }
            other => {
                writeln!(self.out, "{}", self.style.bold(&head))?;
                let text = serde_json::to_string(&cairn_core::event::encode_payload(other))?;
                writeln!(self.out, "{}", output::printable(&text))?;
            }
        }
        Ok(())
    }

    fn block(&mut self, block: &ContentBlock) -> std::io::Result<()> {
        match block {
            ContentBlock::Text { text } => {
                writeln!(self.out, "{}", output::printable(text.trim_end()))
            }
            ContentBlock::Thinking { text, .. } => {
                let shown = format!("(thinking) {}", output::printable(text.trim_end()));
                writeln!(self.out, "{}", self.style.dim(&shown))
            }
            ContentBlock::ToolUse { id, name, input } => {
                let input = serde_json::to_string(input)?;
                writeln!(
                    self.out,
                    "→ {} ({}) {}",
                    output::printable(name),
                    output::printable(id),
                    output::printable(&input)
                )
            }
            ContentBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
            } => {
                let error = if *is_error { " (error)" } else { "" };
                writeln!(
                    self.out,
                    "← result of {}{error}:",
                    output::printable(tool_use_id)
                )?;
                match content {
                    cairn_core::event::ToolResultContent::Text(text) => {
                        writeln!(self.out, "{}", output::printable(text.trim_end()))
                    }
                    cairn_core::event::ToolResultContent::Blocks(blocks) => {
                        for inner in blocks {
                            self.block(inner)?;
                        }
                        Ok(())
                    }
                }
            }
            ContentBlock::Image(media) | ContentBlock::Video(media) => writeln!(
                self.out,
                "[{} {} sha256:{}]",
                block.type_name(),
                output::printable(&media.mime),
                output::printable(&media.sha256)
            ),
            ContentBlock::Other(map) => {
                let text = serde_json::to_string(map)?;
                writeln!(
                    self.out,
                    "[{}] {}",
                    output::printable(block.type_name()),
                    output::printable(&text)
                )
            }
        }
    }
}

fn describe_kind(event: &Event) -> String {
    match &event.payload {
        Payload::Message(m) => m.role.as_str().to_owned(),
        other => output::printable(other.kind()).into_owned(),
    }
}
