//! Exporting a session as JSONL v1, streamed page by page. Image and video blocks
//! get their bytes back as `data_base64`, so the file stands on its own.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use cairn_core::jsonl::{Header, Writer};
use cairn_core::settings::Settings;
use cairn_core::{Event, Payload, Session, Store};

use crate::media::for_each_media;

/// Events per page read from the store.
const PAGE: u32 = 500;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] cairn_core::Error),
    #[error("-o {0}: not a file path")]
    NotAFilePath(PathBuf),
    #[error("cannot create {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    WriteFile {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Writing the output (standard output, or the file before it is renamed).
    #[error(transparent)]
    Write(#[from] std::io::Error),
}

/// What an export writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Session JSONL v1: complete, re-importable.
    Jsonl,
    /// Markdown for people ([`crate::export_readable`]).
    Markdown,
    /// One self-contained HTML page ([`crate::export_readable`]).
    Html,
}

impl Format {
    pub fn parse(raw: &str) -> Option<Format> {
        match raw {
            "jsonl" => Some(Format::Jsonl),
            "md" | "markdown" => Some(Format::Markdown),
            "html" => Some(Format::Html),
            _ => None,
        }
    }
}

/// Writes the session in `format` to `out` and gives it back, flushed.
pub async fn write_session_as<W: Write>(
    store: &dyn Store,
    settings: &Settings,
    session: &Session,
    format: Format,
    out: W,
) -> Result<W, ExportError> {
    match format {
        Format::Jsonl => write_session(store, settings, session, out).await,
        Format::Markdown | Format::Html => {
            crate::export_readable::write(store, settings, session, format, out).await
        }
    }
}

/// Writes next to `path` and renames into place, so a failed export never leaves
/// a half-written file where a good one was.
pub async fn export_to_file(
    store: &dyn Store,
    settings: &Settings,
    session: &Session,
    path: &Path,
) -> Result<(), ExportError> {
    export_to_file_as(store, settings, session, Format::Jsonl, path).await
}

/// [`export_to_file`] in any [`Format`].
pub async fn export_to_file_as(
    store: &dyn Store,
    settings: &Settings,
    session: &Session,
    format: Format,
    path: &Path,
) -> Result<(), ExportError> {
    let file_name = path
        .file_name()
        .ok_or_else(|| ExportError::NotAFilePath(path.to_path_buf()))?;
    let mut partial_name = std::ffi::OsString::from(".");
    partial_name.push(file_name);
    partial_name.push(format!(".partial-{}", std::process::id()));
    let partial: PathBuf = path.with_file_name(partial_name);
    // A transcript is as private as the store (0600). `create_new` refuses whatever
    // already sits at the temporary name, a symlink included; the rename then
    // replaces the target itself (never the file a symlink points to), so an
    // existing file's permissions are never widened.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(&partial)
        .map_err(|source| ExportError::Create {
            path: partial.clone(),
            source,
        })?;
    let result = async {
        let out = write_session_as(
            store,
            settings,
            session,
            format,
            std::io::BufWriter::new(file),
        )
        .await?;
        let file = out.into_inner().map_err(|e| ExportError::WriteFile {
            path: path.to_path_buf(),
            source: e.into_error(),
        })?;
        file.sync_all()?;
        std::fs::rename(&partial, path).map_err(|source| ExportError::WriteFile {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(())
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// Writes the session to `out` and gives it back (flushed by the JSONL writer).
pub async fn write_session<W: Write>(
    store: &dyn Store,
    settings: &Settings,
    session: &Session,
    out: W,
) -> Result<W, ExportError> {
    let mut header = Header::new(&session.name, session.project.clone(), session.created_at);
    header.title = session.title.clone();
    header.model = session.model.clone();
    let mut writer = Writer::new(out, &header)?;
    let mut events = ExportedEvents::new(store, settings, session);
    while let Some(page) = events.next_page().await? {
        for event in &page {
            writer.write_event(event)?;
        }
    }
    Ok(writer.finish()?)
}

/// A session's history as every export writes it: page by page, its media filled in
/// from the attachments, error events scrubbed of credentials.
pub(crate) struct ExportedEvents<'a> {
    store: &'a dyn Store,
    session: ulid::Ulid,
    keys: Vec<&'a str>,
    media: MediaCache,
    after: u64,
    done: bool,
}

impl<'a> ExportedEvents<'a> {
    pub(crate) fn new(store: &'a dyn Store, settings: &'a Settings, session: &Session) -> Self {
        ExportedEvents {
            store,
            session: session.id,
            keys: cairn_core::scrub::configured_keys(&settings.providers),
            media: MediaCache::default(),
            after: 0,
            done: false,
        }
    }

    /// The next page, oldest first; `None` after the last one.
    pub(crate) async fn next_page(&mut self) -> Result<Option<Vec<Event>>, ExportError> {
        if self.done {
            return Ok(None);
        }
        let mut page = self
            .store
            .events_after(self.session, self.after, PAGE)
            .await?;
        self.done = page.len() < PAGE as usize;
        let Some(last) = page.last() else {
            return Ok(None);
        };
        self.after = last.seq;
        for event in &mut page {
            self.media.fill(self.store, event).await?;
            scrub_error_event(event, &self.keys);
        }
        Ok(Some(page))
    }
}

/// Error events recorded before URLs were scrubbed may hold a base URL's credentials
/// or a key echoed by a provider: an export never carries them. Other events are
/// the conversation itself and go out exactly as stored.
pub(crate) fn scrub_error_event(event: &mut Event, keys: &[&str]) {
    match &mut event.payload {
        Payload::Error(error) => error.message = cairn_core::scrub::scrub(&error.message, keys),
        // An error event whose fields are not what cairn writes stays untyped.
        Payload::Other { kind, fields } if kind == "error" => {
            if let Some(serde_json::Value::String(message)) = fields.get_mut("message") {
                *message = cairn_core::scrub::scrub(message, keys);
            }
        }
        _ => {}
    }
}

/// Base64 of the attachments seen so far (a picture is often sent more than once).
#[derive(Default)]
pub(crate) struct MediaCache {
    encoded: HashMap<String, Option<String>>,
}

impl MediaCache {
    pub(crate) async fn fill(
        &mut self,
        store: &dyn Store,
        event: &mut Event,
    ) -> Result<(), ExportError> {
        let Payload::Message(message) = &mut event.payload else {
            return Ok(());
        };
        let mut wanted = Vec::new();
        for_each_media(&mut message.content, &mut |m| wanted.push(m.sha256.clone()));
        for sha in wanted {
            if self.encoded.contains_key(&sha) {
                continue;
            }
            let data = match store.attachment(&sha).await {
                Ok(a) => Some(base64::engine::general_purpose::STANDARD.encode(&a.bytes)),
                Err(cairn_core::Error::NotFound { .. }) => {
                    eprintln!(
                        "warning: attachment {sha} (seq {}) is not in the store; \
                         exported without its data",
                        event.seq
                    );
                    None
                }
                Err(e) => return Err(e.into()),
            };
            self.encoded.insert(sha, data);
        }
        for_each_media(&mut message.content, &mut |m| {
            if let Some(Some(data)) = self.encoded.get(&m.sha256) {
                m.data_base64 = Some(data.clone());
            }
        });
        Ok(())
    }
}
