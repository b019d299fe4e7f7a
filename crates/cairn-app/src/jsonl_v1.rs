//! The JSONL v1 session file (what `cairn sessions export` writes) as an [`Importer`].

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use cairn_core::jsonl::{Header, JsonlError, MAX_LINE_BYTES, Reader, check_message};
use cairn_core::store::ImportStream;
use cairn_core::{Error, Event, Payload};
use memchr::memmem;

use crate::importer::{Importer, Survey};
use crate::media::{check_inline, for_each_media};
use crate::read_ahead::read_ahead;

const BUFFER: usize = 1 << 20;

pub struct JsonlV1 {
    /// What errors call the file: its path as given, or `-`.
    shown: String,
    file: File,
    header: Header,
}

impl JsonlV1 {
    pub fn open(path: &Path) -> cairn_core::Result<Self> {
        let file = File::open(path)
            .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
        Self::from_file(path.display().to_string(), file)
    }

    /// Standard input cannot be read twice, so it is first copied to a private
    /// temporary file (deleted on drop) which both passes read.
    pub fn from_stdin() -> cairn_core::Result<Self> {
        let mut spool =
            tempfile::tempfile().map_err(|e| Error::io("cannot create a temporary file", e))?;
        std::io::copy(&mut std::io::stdin().lock(), &mut spool)
            .map_err(|e| Error::io("cannot read -", e))?;
        Self::from_file("-".into(), spool)
    }

    fn from_file(shown: String, mut file: File) -> cairn_core::Result<Self> {
        let header = Reader::new(reader_from_start(&mut file, &shown)?)
            .map_err(|e| e.into_error(&shown))?
            .header()
            .clone();
        Ok(JsonlV1 {
            shown,
            file,
            header,
        })
    }

    /// Counts the events and checks the media they carry. Only the lines that can
    /// hold a media block are parsed: every other check is the import's own, whose
    /// one transaction a bad line rolls back (parsing each line twice cost about
    /// a tenth of the import).
    fn survey_lines(mut input: BufReader<File>) -> Result<Survey, JsonlError> {
        let mut survey = Survey::default();
        let mut carried: HashSet<String> = HashSet::new();
        let mut bare: Vec<(String, u64)> = Vec::new();
        let mut buf = Vec::new();
        let mut line = 0u64;
        let mut header = true;
        loop {
            buf.clear();
            let limit = MAX_LINE_BYTES as u64 + 2;
            let read = (&mut input)
                .take(limit)
                .read_until(b'\n', &mut buf)
                .map_err(JsonlError::Io)?;
            if read == 0 {
                break;
            }
            line += 1;
            if buf.len() > MAX_LINE_BYTES + 1 {
                return Err(JsonlError::at(
                    line,
                    format!("the line is longer than the limit of {MAX_LINE_BYTES} bytes"),
                ));
            }
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if std::mem::take(&mut header) {
                continue;
            }
            survey.events += 1;
            // A media block names its sha256; a key could only hide it behind an
            // escape.
            if memmem::find(&buf, b"sha256").is_none() && memmem::find(&buf, b"\\u").is_none() {
                continue;
            }
            // A line that is not an event is the import's to report.
            let Ok(mut event) = serde_json::from_slice::<Event>(&buf) else {
                continue;
            };
            let Payload::Message(message) = &mut event.payload else {
                continue;
            };
            if check_message(message).is_err() {
                continue;
            }
            let mut problem = None;
            for_each_media(&mut message.content, &mut |media| {
                let Some(data) = media.data_base64.take() else {
                    bare.push((media.sha256.clone(), line));
                    return;
                };
                if problem.is_some() {
                    return;
                }
                match check_inline(&data, &media.sha256) {
                    Ok(()) => {
                        carried.insert(media.sha256.clone());
                    }
                    Err(reason) => problem = Some(reason),
                }
            });
            if let Some(reason) = problem {
                return Err(JsonlError::at(line, reason));
            }
        }
        // Bytes carried anywhere in the file are enough; the rest must be in the store.
        let mut named = HashSet::new();
        bare.retain(|(sha256, _)| !carried.contains(sha256) && named.insert(sha256.clone()));
        survey.attachments = carried.len() as u64;
        survey.referenced = bare;
        Ok(survey)
    }
}

fn reader_from_start(file: &mut File, shown: &str) -> cairn_core::Result<BufReader<File>> {
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(format!("cannot read {shown}"), e))?;
    let clone = file
        .try_clone()
        .map_err(|e| Error::io(format!("cannot read {shown}"), e))?;
    Ok(BufReader::with_capacity(BUFFER, clone))
}

impl Importer for JsonlV1 {
    fn source(&self) -> &str {
        &self.shown
    }

    fn header(&self) -> &Header {
        &self.header
    }

    fn survey(&mut self) -> cairn_core::Result<Survey> {
        let input = reader_from_start(&mut self.file, &self.shown)?;
        Self::survey_lines(input).map_err(|e| e.into_error(&self.shown))
    }

    fn into_events(mut self: Box<Self>) -> cairn_core::Result<ImportStream> {
        let input = reader_from_start(&mut self.file, &self.shown)?;
        let mut reader = Reader::new(input).map_err(|e| e.into_error(&self.shown))?;
        let shown = self.shown;
        let events = std::iter::from_fn(move || {
            let item = match reader.next_event() {
                Ok(event) => Ok((event?, reader.line_bytes())),
                Err(e) => Err(e.into_error(&shown)),
            };
            Some(item)
        });
        Ok(read_ahead(events))
    }
}
