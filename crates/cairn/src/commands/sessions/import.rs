//! `cairn sessions import FILE [--name NEW]`: every line is checked before anything
//! is written, so a bad file names its first bad line and imports nothing.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use base64::Engine as _;
use cairn_core::jsonl::{JsonlError, Reader};
use cairn_core::store::SessionUpdate;
use cairn_core::tokens::TokenCounter;
use cairn_core::{Error, NewSession, Payload};
use cairn_llm::ModelRef;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::export::for_each_media;
use super::parse_name;
use crate::app::App;
use crate::args::sessions::ImportArgs;
use crate::output;

/// Attachment bytes carried inline by the file, checked against their sha256.
struct Inline {
    mime: String,
    bytes: Vec<u8>,
}

pub async fn run(app: &App, args: ImportArgs) -> anyhow::Result<()> {
    let shown = args.file.display().to_string();
    let new_name = args.name.as_deref().map(parse_name).transpose()?;
    let input: Box<dyn BufRead> = if args.file.as_os_str() == "-" {
        Box::new(BufReader::with_capacity(1 << 20, std::io::stdin().lock()))
    } else {
        Box::new(BufReader::with_capacity(1 << 20, open(&args.file)?))
    };
    let (header, events, inline) = read_checked(input).map_err(|e| e.into_error(&shown))?;
    let name = match new_name {
        Some(name) => name,
        None => header.session_name().map_err(|e| {
            Error::InvalidName(format!(
                "{shown}: line 1: field \"name\": {e}; pass --name NEW to import it under another name"
            ))
        })?,
    };
    let store = app.store().await?;
    match store.session(&name).await {
        Ok(_) => {
            return Err(Error::AlreadyExists {
                what: "session",
                name: format!("{name} (pass --name NEW to import this file under another name)"),
            }
            .into());
        }
        Err(Error::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    for media in &inline {
        store
            .put_attachment(&media.mime, media.bytes.clone())
            .await?;
    }
    let event_count = events.len();
    let session = store
        .import_session(
            NewSession {
                name: name.clone(),
                title: header.title.clone(),
                project: header.project.clone(),
                model: header.model.clone(),
                parent_id: None,
                fork_seq: None,
                created_at: Some(header.created_at),
            },
            events,
        )
        .await?;
    // The index's live-context size is kept by whoever appends; an import appends
    // everything at once, so it sets it here for `list` and `show`.
    let live = store
        .live_context(session.id, app.settings.compression.knowledge_retention)
        .await?;
    // The file's model name enters cairn here: one it cannot parse is counted with
    // the estimate, like a session without a model.
    let counter = session
        .model
        .as_deref()
        .and_then(|m| ModelRef::parse(m).ok())
        .map_or_else(TokenCounter::estimate, |m| m.token_counter());
    let live_tokens = counter.count_live_context(&live).tokens;
    let update = SessionUpdate {
        live_tokens: Some(live_tokens),
        ..SessionUpdate::default()
    };
    let session = store.update_session(session.id, update).await?;
    if args.json {
        return output::print_json(&json!({
            "imported": session.name,
            "project": session.project,
            "events": event_count,
            "attachments": inline.len(),
        }));
    }
    let mut out = output::stdout();
    writeln!(
        out,
        "imported {} ({} events, {} attachments) into project {}",
        session.name,
        output::grouped(event_count as u64),
        inline.len(),
        output::printable(session.project.as_str())
    )?;
    out.flush()?;
    Ok(())
}

fn open(path: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::File::open(path)
        .map_err(|e| Error::io(format!("cannot open {}", path.display()), e).into())
}

type Checked = (
    cairn_core::jsonl::Header,
    Vec<cairn_core::Event>,
    Vec<Inline>,
);

/// Reads the whole file, checking every line; moves inline media out of the events
/// (the store keeps attachments apart, and export puts them back).
fn read_checked(input: Box<dyn BufRead>) -> Result<Checked, JsonlError> {
    let mut reader = Reader::new(input)?;
    let mut events = Vec::new();
    let mut inline: Vec<Inline> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    while let Some(mut event) = reader.next_event()? {
        let line = reader.line();
        if let Payload::Message(message) = &mut event.payload {
            let mut problem = None;
            for_each_media(&mut message.content, &mut |media| {
                let Some(data) = media.data_base64.take() else {
                    return;
                };
                if problem.is_some() {
                    return;
                }
                match decode_checked(&data, &media.sha256) {
                    Ok(bytes) => {
                        if seen.insert(media.sha256.clone()) {
                            inline.push(Inline {
                                mime: media.mime.clone(),
                                bytes,
                            });
                        }
                    }
                    Err(reason) => problem = Some(reason),
                }
            });
            if let Some(reason) = problem {
                return Err(JsonlError::at(line, reason));
            }
        }
        events.push(event);
    }
    Ok((reader.header().clone(), events, inline))
}

fn decode_checked(data: &str, sha256: &str) -> Result<Vec<u8>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| format!("media block with sha256 {sha256}: data_base64 is not base64: {e}"))?;
    let actual = sha_hex(&bytes);
    if actual != sha256 {
        return Err(format!(
            "media block: data_base64 has sha256 {actual}, but the block says {sha256:?} \
             (lower-case hex)"
        ));
    }
    Ok(bytes)
}

fn sha_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
