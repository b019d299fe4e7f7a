//! A session for people to read: Markdown, or one self-contained HTML page (every
//! text escaped, tool calls and thinking collapsible with `<details>`, compaction
//! summaries, knowledge, images and videos inline as data URIs, totals). The whole
//! history is written, page by page, with compactions and rewinds marked where
//! they happened. JSONL v1 ([`crate::export`]) stays the complete, re-importable form.

use std::io::Write;

use cairn_core::attachment::SUPPORTED_MIME;
use cairn_core::event::ToolResultContent;
use cairn_core::settings::Settings;
use cairn_core::{ContentBlock, Event, MediaBlock, Message, Payload, Role, Session, Store};

use crate::export::{ExportError, ExportedEvents, Format};

/// Text escaped for HTML element content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A fenced Markdown code block whose fence is longer than any backtick run in
/// `text`, so the text cannot end it.
fn fenced(text: &str, info: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}{info}\n{text}\n{fence}\n")
}

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;\
padding:0 1rem;color:#222}header,footer{border-bottom:1px solid #ddd;margin-bottom:1rem}\
footer{border-top:1px solid #ddd;border-bottom:0}.event{margin:1rem 0;padding:.5rem .8rem;\
border-left:4px solid #ccc}.user{border-color:#3a7}.assistant{border-color:#37a}\
.tool{border-color:#a73}.system{border-color:#777}.note{color:#666;font-size:.9em}\
.compaction{background:#f6f3e8;border-color:#ca3}.rewind{background:#fbeaea;border-color:#c33}\
.meta{color:#888;font-size:.8em}.text{white-space:pre-wrap}pre{white-space:pre-wrap;\
background:#f4f4f4;padding:.5rem;overflow-x:auto}img,video{max-width:100%}";

/// Writes the session in `format` (Markdown or HTML) to `out`, flushed.
pub async fn write<W: Write>(
    store: &dyn Store,
    settings: &Settings,
    session: &Session,
    format: Format,
    mut out: W,
) -> Result<W, ExportError> {
    let html = format == Format::Html;
    let parent = match (session.parent_id, session.fork_seq) {
        (Some(id), Some(seq)) => Some((
            store
                .session_by_id(id)
                .await
                .map_or_else(|_| id.to_string(), |p| p.name.to_string()),
            seq,
        )),
        _ => None,
    };
    let knowledge = store.knowledge(session.id).await?;
    let mut doc = Doc {
        html,
        out: &mut out,
    };
    doc.header(session, parent.as_ref(), &knowledge)?;
    let mut events = ExportedEvents::new(store, settings, session);
    while let Some(page) = events.next_page().await? {
        for event in &page {
            doc.event(event)?;
        }
    }
    doc.footer(session)?;
    out.flush()?;
    Ok(out)
}

struct Doc<'a, W: Write> {
    html: bool,
    out: &'a mut W,
}

impl<W: Write> Doc<'_, W> {
    fn header(
        &mut self,
        s: &Session,
        parent: Option<&(String, u64)>,
        knowledge: &[Event],
    ) -> std::io::Result<()> {
        let title = s.title.clone().unwrap_or_else(|| s.name.to_string());
        let mut facts = vec![
            ("session", s.name.to_string()),
            ("project", s.project.to_string()),
            ("model", s.model.clone().unwrap_or_else(|| "-".into())),
            ("created", s.created_at.to_string()),
            ("last active", s.updated_at.to_string()),
        ];
        if let Some((name, seq)) = parent {
            facts.push((
                "forked from",
                format!("{name} at seq {seq} (its history up to there is included)"),
            ));
        }
        if self.html {
            write!(
                self.out,
                "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
                 <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
                 <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header>\n\
                 <h1>{}</h1>\n<dl>\n",
                escape_html(&title),
                escape_html(&title)
            )?;
            for (label, value) in &facts {
                writeln!(
                    self.out,
                    "<dt>{}</dt><dd>{}</dd>",
                    escape_html(label),
                    escape_html(value)
                )?;
            }
            writeln!(self.out, "</dl>\n</header>")?;
        } else {
            writeln!(self.out, "# {}\n", one_line(&title))?;
            for (label, value) in &facts {
                writeln!(self.out, "- **{label}:** {}", one_line(value))?;
            }
            writeln!(self.out)?;
        }
        if !knowledge.is_empty() {
            self.knowledge_list(knowledge)?;
        }
        if self.html {
            writeln!(self.out, "<main>")?;
        }
        Ok(())
    }

    fn knowledge_list(&mut self, knowledge: &[Event]) -> std::io::Result<()> {
        if self.html {
            writeln!(
                self.out,
                "<section class=\"knowledge\">\n<h2>Knowledge</h2>\n<ul>"
            )?;
        } else {
            writeln!(self.out, "## Knowledge\n")?;
        }
        for event in knowledge {
            let Payload::Knowledge(k) = &event.payload else {
                continue;
            };
            let pin = if k.pinned { " (pinned)" } else { "" };
            if self.html {
                writeln!(
                    self.out,
                    "<li><strong>{}</strong>{pin}: <span class=\"text\">{}</span> \
                     <span class=\"meta\">seq {}</span></li>",
                    k.knowledge_kind.as_str(),
                    escape_html(&k.text),
                    event.seq
                )?;
            } else {
                writeln!(
                    self.out,
                    "- **{}**{pin}: {} _(seq {})_",
                    k.knowledge_kind.as_str(),
                    one_line(&k.text),
                    event.seq
                )?;
            }
        }
        if self.html {
            writeln!(self.out, "</ul>\n</section>")?;
        } else {
            writeln!(self.out)?;
        }
        Ok(())
    }

    fn event(&mut self, event: &Event) -> std::io::Result<()> {
        let meta = format!("seq {} · {}", event.seq, event.ts);
        match &event.payload {
            Payload::Message(m) => self.message(m, &meta),
            Payload::Compaction(c) => {
                let title = format!(
                    "Compaction: events {}–{} summarized ({} → {} tokens)",
                    c.replaces[0], c.replaces[1], c.tokens_before, c.tokens_after
                );
                self.section("compaction", &title, &meta, Some(&c.summary))
            }
            Payload::Knowledge(k) => {
                let title = format!(
                    "Knowledge ({}){}",
                    k.knowledge_kind.as_str(),
                    if k.pinned { ", pinned" } else { "" }
                );
                self.section("note", &title, &meta, Some(&k.text))
            }
            Payload::Command(c) => {
                let line = std::iter::once(c.name.as_str())
                    .chain(c.args.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join(" ");
                self.section("note", &format!("Command: {line}"), &meta, None)
            }
            Payload::Error(e) => self.section("note", "Error", &meta, Some(&e.message)),
            Payload::Other { kind, fields } if kind == cairn_core::lineage::REWIND_KIND => {
                let to = fields
                    .get("to_seq")
                    .and_then(serde_json::Value::as_u64)
                    .unwrap_or(0);
                let title = format!(
                    "Rewind: the live context went back to just before seq {to}; \
                     the events since stay in this history"
                );
                self.section("rewind", &title, &meta, None)
            }
            other => self.section("note", &format!("Event: {}", other.kind()), &meta, None),
        }
    }

    fn section(
        &mut self,
        class: &str,
        title: &str,
        meta: &str,
        body: Option<&str>,
    ) -> std::io::Result<()> {
        if self.html {
            write!(
                self.out,
                "<section class=\"event {class}\">\n<div><strong>{}</strong> \
                 <span class=\"meta\">{}</span></div>\n",
                escape_html(title),
                escape_html(meta)
            )?;
            if let Some(body) = body {
                writeln!(self.out, "<div class=\"text\">{}</div>", escape_html(body))?;
            }
            writeln!(self.out, "</section>")
        } else {
            writeln!(self.out, "---\n\n**{}** _({meta})_\n", one_line(title))?;
            if let Some(body) = body {
                for line in body.lines() {
                    writeln!(self.out, "> {line}")?;
                }
                writeln!(self.out)?;
            }
            Ok(())
        }
    }

    fn message(&mut self, m: &Message, meta: &str) -> std::io::Result<()> {
        let role = m.role.as_str();
        let mut heading = match m.role {
            Role::User => "User".to_owned(),
            Role::Assistant => "Assistant".to_owned(),
            Role::Tool => "Tool result".to_owned(),
            Role::System => "System".to_owned(),
        };
        if let Some(model) = &m.model {
            heading.push_str(&format!(" ({model})"));
        }
        if m.interrupted {
            heading.push_str(" — interrupted");
        }
        if self.html {
            write!(
                self.out,
                "<section class=\"event {role}\">\n<div><strong>{}</strong> \
                 <span class=\"meta\">{}</span></div>\n",
                escape_html(&heading),
                escape_html(meta)
            )?;
        } else {
            writeln!(self.out, "---\n\n### {} _({meta})_\n", one_line(&heading))?;
        }
        for block in &m.content {
            self.block(block)?;
        }
        if self.html {
            writeln!(self.out, "</section>")?;
        }
        Ok(())
    }

    fn block(&mut self, block: &ContentBlock) -> std::io::Result<()> {
        match block {
            ContentBlock::Text { text } => {
                if self.html {
                    writeln!(self.out, "<div class=\"text\">{}</div>", escape_html(text))
                } else {
                    writeln!(self.out, "{text}\n")
                }
            }
            ContentBlock::Thinking { text, .. } => self.collapsed("Thinking", text, ""),
            ContentBlock::ToolUse { id, name, input } => {
                let input = serde_json::to_string_pretty(input).unwrap_or_default();
                self.collapsed(&format!("Tool call: {name} ({id})"), &input, "json")
            }
            ContentBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
            } => {
                let title = format!(
                    "Result of {tool_use_id}{}",
                    if *is_error { " (error)" } else { "" }
                );
                match content {
                    ToolResultContent::Text(text) => self.collapsed(&title, text, ""),
                    ToolResultContent::Blocks(blocks) => {
                        let text = blocks
                            .iter()
                            .filter_map(|b| match b {
                                ContentBlock::Text { text } => Some(text.as_str()),
                                _ => None,
                            })
                            .collect::<Vec<_>>()
                            .join("\n");
                        self.collapsed(&title, &text, "")?;
                        for b in blocks
                            .iter()
                            .filter(|b| !matches!(b, ContentBlock::Text { .. }))
                        {
                            self.block(b)?;
                        }
                        Ok(())
                    }
                }
            }
            ContentBlock::Image(media) => self.media("img", media),
            ContentBlock::Video(media) => self.media("video", media),
            ContentBlock::Other(map) => {
                let json = serde_json::to_string_pretty(map).unwrap_or_default();
                self.collapsed(&format!("Block: {}", block.type_name()), &json, "json")
            }
        }
    }

    fn collapsed(&mut self, title: &str, body: &str, info: &str) -> std::io::Result<()> {
        if self.html {
            writeln!(
                self.out,
                "<details><summary>{}</summary><pre>{}</pre></details>",
                escape_html(title),
                escape_html(body)
            )
        } else {
            writeln!(
                self.out,
                "<details><summary>{}</summary>\n\n{}\n</details>\n",
                escape_html(title),
                fenced(body, info)
            )
        }
    }

    fn media(&mut self, tag: &str, media: &MediaBlock) -> std::io::Result<()> {
        let label = format!("{} {}", media.mime, &media.sha256);
        // Only the media types cairn attaches go into a data URI.
        let uri = match &media.data_base64 {
            Some(data) if SUPPORTED_MIME.contains(&media.mime.as_str()) => {
                Some(format!("data:{};base64,{data}", media.mime))
            }
            _ => None,
        };
        match (self.html, uri) {
            (true, Some(uri)) if tag == "img" => writeln!(
                self.out,
                "<img src=\"{}\" alt=\"{}\">",
                escape_html(&uri),
                escape_html(&label)
            ),
            (true, Some(uri)) => writeln!(
                self.out,
                "<video controls src=\"{}\" title=\"{}\"></video>",
                escape_html(&uri),
                escape_html(&label)
            ),
            (true, None) => writeln!(
                self.out,
                "<p class=\"note\">[{} not in the store: {}]</p>",
                tag,
                escape_html(&label)
            ),
            (false, Some(uri)) if tag == "img" => writeln!(self.out, "![{label}]({uri})\n"),
            (false, Some(uri)) => writeln!(self.out, "[video {label}]({uri})\n"),
            (false, None) => writeln!(self.out, "_[{tag} not in the store: {label}]_\n"),
        }
    }

    fn footer(&mut self, s: &Session) -> std::io::Result<()> {
        let u = &s.usage;
        let totals = [
            ("events", s.head_seq.to_string()),
            ("messages", s.message_count.to_string()),
            ("tool calls", s.tool_call_count.to_string()),
            ("compactions", s.compaction_count.to_string()),
            ("input tokens", u.input_tokens.to_string()),
            ("output tokens", u.output_tokens.to_string()),
            ("cache read tokens", u.cache_read_tokens.to_string()),
            ("cache write tokens", u.cache_write_tokens.to_string()),
            ("reasoning tokens", u.reasoning_tokens.to_string()),
            ("cost", format!("${:.4}", s.cost_usd)),
        ];
        let own = if s.fork_seq.is_some() {
            " (this fork's own requests; the shared part is counted in its parent)"
        } else {
            ""
        };
        if self.html {
            write!(
                self.out,
                "</main>\n<footer>\n<h2>Totals{}</h2>\n<dl>\n",
                escape_html(own)
            )?;
            for (label, value) in &totals {
                writeln!(self.out, "<dt>{label}</dt><dd>{}</dd>", escape_html(value))?;
            }
            writeln!(self.out, "</dl>\n</footer>\n</body>\n</html>")
        } else {
            writeln!(self.out, "---\n\n## Totals{own}\n")?;
            for (label, value) in &totals {
                writeln!(self.out, "- {label}: {value}")?;
            }
            Ok(())
        }
    }
}

/// One line of text (Markdown headings and list items end at a newline).
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_special_characters_are_escaped_and_fences_outlast_the_text() {
        assert_eq!(
            escape_html("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        let block = fenced("a ```` b", "");
        assert!(block.starts_with("`````\n"), "{block}");
    }
}
