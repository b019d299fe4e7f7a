//! A Claude Code transcript folder made from the 100 MB session's export, for the
//! import benchmark: the same conversation in the lines Claude Code writes
//! (`<project-dir>/<session-uuid>.jsonl`, a `uuid`/`parentUuid` chain, one
//! `assistant` line per content block sharing `message.id`, tool results in the
//! next `user` line, compactions as a `compact_boundary` plus the summary). The
//! conversation is cut into sessions of about [`SESSION_BYTES`] at user prompts,
//! as a developer's folder holds many sessions rather than one huge one.

use std::io::{BufRead as _, BufReader, BufWriter, Write as _};
use std::path::Path;

use anyhow::{Context as _, Result};
use serde_json::{Value, json};

/// Size at which the next user prompt starts a new session file.
const SESSION_BYTES: u64 = 10_000_000;
/// Claude Code names a project's folder after its path, `/` turned into `-`.
const PROJECT_DIR: &str = "-home-dev-src-shop-api";
const CWD: &str = "/home/dev/src/shop-api";

/// Writes the transcripts under `dir` from the JSONL v1 file `export`; returns
/// the bytes written.
pub(crate) fn write_transcripts(export: &Path, dir: &Path) -> Result<u64> {
    let project = dir.join(PROJECT_DIR);
    std::fs::create_dir_all(&project)?;
    let reader = BufReader::new(
        std::fs::File::open(export).with_context(|| format!("opening {}", export.display()))?,
    );
    let mut writer = Writer::new(&project);
    for (n, line) in reader.lines().enumerate() {
        let line = line?;
        let event: Value =
            serde_json::from_str(&line).with_context(|| format!("export line {}", n + 1))?;
        writer.event(&event)?;
    }
    writer.finish()
}

struct Writer<'a> {
    project: &'a Path,
    file: Option<BufWriter<std::fs::File>>,
    session: u64,
    file_bytes: u64,
    total: u64,
    parent: Option<String>,
    line: u64,
}

impl<'a> Writer<'a> {
    fn new(project: &'a Path) -> Self {
        Writer {
            project,
            file: None,
            session: 0,
            file_bytes: 0,
            total: 0,
            parent: None,
            line: 0,
        }
    }

    fn session_id(&self) -> String {
        format!("5e55e55e-0000-4000-8000-{:012x}", self.session)
    }

    fn event(&mut self, event: &Value) -> Result<()> {
        let ts = event["ts"].as_str().unwrap_or("2026-01-05T09:00:00Z");
        match event["kind"].as_str() {
            Some("message") => {}
            Some("compaction") => {
                let boundary = json!({ "type": "system", "subtype": "compact_boundary",
                    "content": "Conversation compacted", "compactMetadata": { "trigger": "auto" } });
                self.write(boundary, ts)?;
                let summary = json!({ "type": "user", "isCompactSummary": true,
                    "message": { "role": "user", "content": event["summary"] } });
                return self.write(summary, ts);
            }
            // Knowledge and the header have no Claude Code line.
            _ => return Ok(()),
        }
        let content = event["content"].as_array().cloned().unwrap_or_default();
        match event["role"].as_str() {
            Some("user") => {
                if self.file_bytes >= SESSION_BYTES {
                    self.next_session()?;
                }
                let text: String = content
                    .iter()
                    .filter_map(|b| b["text"].as_str())
                    .collect::<Vec<_>>()
                    .join("\n");
                self.write(
                    json!({ "type": "user", "message": { "role": "user", "content": text } }),
                    ts,
                )
            }
            Some("tool") => self.write(
                json!({ "type": "user", "message": { "role": "user", "content": content } }),
                ts,
            ),
            Some("assistant") => {
                let id = format!("msg_{:08}", event["seq"].as_u64().unwrap_or(0));
                let usage = &event["usage"];
                let usage = json!({
                    "input_tokens": usage["input_tokens"],
                    "cache_read_input_tokens": usage["cache_read_tokens"],
                    "cache_creation_input_tokens": usage["cache_write_tokens"],
                    "output_tokens": usage["output_tokens"],
                });
                for block in content {
                    let block = match block["type"].as_str() {
                        Some("thinking") => json!({ "type": "thinking",
                            "thinking": block["text"], "signature": "sig" }),
                        _ => block,
                    };
                    let message = json!({ "id": id, "type": "message", "role": "assistant",
                        "model": "claude-sonnet-4-5", "content": [block], "usage": usage });
                    self.write(json!({ "type": "assistant", "message": message }), ts)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn next_session(&mut self) -> Result<()> {
        if let Some(mut file) = self.file.take() {
            file.flush()?;
        }
        self.session += 1;
        self.file_bytes = 0;
        self.parent = None;
        Ok(())
    }

    /// Adds the fields every conversation line carries and writes it.
    fn write(&mut self, mut line: Value, ts: &str) -> Result<()> {
        self.line += 1;
        let uuid = format!("0000c0de-0000-4000-8000-{:012x}", self.line);
        let session_id = self.session_id();
        if let Value::Object(map) = &mut line {
            map.insert("uuid".into(), json!(uuid));
            map.insert("parentUuid".into(), json!(self.parent));
            map.insert("isSidechain".into(), json!(false));
            map.insert("sessionId".into(), json!(session_id));
            map.insert("cwd".into(), json!(CWD));
            map.insert("timestamp".into(), json!(ts));
            map.insert("version".into(), json!("2.1.197"));
        }
        self.parent = Some(uuid);
        if self.file.is_none() {
            let path = self.project.join(format!("{session_id}.jsonl"));
            let file = std::fs::File::create(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            self.file = Some(BufWriter::new(file));
        }
        let mut bytes = serde_json::to_vec(&line)?;
        bytes.push(b'\n');
        if let Some(file) = &mut self.file {
            file.write_all(&bytes)?;
        }
        self.file_bytes += bytes.len() as u64;
        self.total += bytes.len() as u64;
        Ok(())
    }

    fn finish(mut self) -> Result<u64> {
        if let Some(mut file) = self.file.take() {
            file.flush()?;
        }
        Ok(self.total)
    }
}
