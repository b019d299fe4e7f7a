//! `/image PATH` and `/video PATH`: attach a file to the next message. The bytes are
//! stored content-addressed at once; the message refers to them by sha256.

use cairn_core::MediaBlock;
use serde_json::json;

use super::{CommandResult, Failure, Output};
use crate::agent::Agent;
use crate::media::{self, MediaKind, Pending};

pub(super) async fn attach(agent: &mut Agent, raw: &str, kind: MediaKind) -> CommandResult {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(Failure::Usage(format!("usage: /{} PATH", kind.as_str())));
    }
    refuse_unless_supported(agent, kind).map_err(Failure::Usage)?;
    // The person names the file: relative to where cairn was started.
    let path = std::path::Path::new(raw);
    let meta = std::fs::metadata(path).map_err(|e| Failure::Usage(format!("{raw}: {e}")))?;
    if !meta.is_file() {
        return Err(Failure::Usage(format!("{raw}: not a file")));
    }
    if meta.len() > kind.max_bytes() {
        return Err(Failure::Usage(format!(
            "{raw}: {} bytes is larger than the {} limit of {} MiB",
            meta.len(),
            kind.as_str(),
            kind.max_bytes() / (1024 * 1024)
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| Failure::Usage(format!("{raw}: {e}")))?;
    queue(agent, raw, kind, bytes).await
}

/// Check `bytes` (named `label` in messages) and queue them for the next message:
/// what `/image` does once it has read the file, and what a face that receives the
/// bytes themselves (an ACP image block) calls directly.
pub(crate) async fn queue(
    agent: &mut Agent,
    label: &str,
    kind: MediaKind,
    bytes: Vec<u8>,
) -> CommandResult {
    refuse_unless_supported(agent, kind).map_err(Failure::Usage)?;
    if bytes.len() as u64 > kind.max_bytes() {
        return Err(Failure::Usage(format!(
            "{label}: {} bytes is larger than the {} limit of {} MiB",
            bytes.len(),
            kind.as_str(),
            kind.max_bytes() / (1024 * 1024)
        )));
    }
    let mime = media::check(label, kind, &bytes).map_err(Failure::Usage)?;
    let size = bytes.len() as u64;
    let reference = agent.store.put_attachment(mime, bytes).await?;
    agent.conversation.queue(Pending {
        kind,
        block: MediaBlock {
            sha256: reference.sha256.clone(),
            mime: mime.to_owned(),
            data_base64: None,
        },
        path: label.to_owned(),
        size,
    });
    Ok(Output::new(
        format!(
            "attached {label} ({mime}, {size} bytes) to your next message ({} pending)",
            agent.conversation.pending().len()
        ),
        json!({"path": label, "mime": mime, "bytes": size, "sha256": reference.sha256}),
    ))
}

fn refuse_unless_supported(agent: &Agent, kind: MediaKind) -> Result<(), String> {
    let caps = agent
        .options
        .llm
        .capabilities(&agent.model)
        .map_err(|e| e.to_string())?;
    let ok = match kind {
        MediaKind::Image => caps.images,
        MediaKind::Video => caps.video,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{} cannot take {}s; switch with /model to one that can",
            agent.model,
            kind.as_str()
        ))
    }
}

/// Before sending: every pending attachment must suit the current model (it may have
/// changed since `/image`).
pub(crate) fn check_capabilities(agent: &Agent) -> Result<(), String> {
    for pending in agent.conversation.pending() {
        refuse_unless_supported(agent, pending.kind)
            .map_err(|e| format!("{}: {e}", pending.path))?;
    }
    Ok(())
}
