//! Importing a session: check the whole source, then write it in one transaction.
//!
//! The source's `project` is data written by whoever made the file, so it never
//! becomes a tool root: the session goes into the caller's project and the
//! source's project is only reported.

use cairn_core::store::SessionUpdate;
use cairn_core::{Error, NewSession, Project, Session, SessionName, Store};

use crate::importer::Importer;
use crate::live_tokens::live_tokens;

pub struct ImportRequest {
    /// Import under this name instead of the source's.
    pub name: Option<SessionName>,
    /// The project the session belongs to from now on.
    pub project: Project,
    /// For the live-context size kept in the index.
    pub knowledge_retention: usize,
}

#[derive(Debug)]
pub struct Imported {
    pub session: Session,
    /// The project the source says it came from.
    pub source_project: Project,
    pub events: u64,
    pub attachments: u64,
}

pub async fn import_session(
    store: &dyn Store,
    mut importer: Box<dyn Importer>,
    request: ImportRequest,
) -> cairn_core::Result<Imported> {
    let shown = importer.source().to_owned();
    let survey = importer.survey()?;
    let header = importer.header().clone();
    let name = match request.name {
        Some(name) => name,
        None => header.session_name().map_err(|e| {
            Error::InvalidName(format!(
                "{shown}: line 1: field \"name\": {e}; pass --name NEW to import it under another name"
            ))
        })?,
    };
    match store.session(&name).await {
        Ok(_) => return Err(taken(&name)),
        Err(Error::NotFound { .. }) => {}
        Err(e) => return Err(e),
    }
    // A media block without its bytes must point at an attachment this store has;
    // otherwise the session could never be resumed.
    for (sha256, line) in &survey.referenced {
        match store.attachment(sha256).await {
            Ok(_) => {}
            Err(Error::NotFound { .. }) => {
                return Err(Error::invalid(format!(
                    "{shown}: line {line}: media block with sha256 {sha256} has no \
                     data_base64 and no attachment of this store has that hash"
                )));
            }
            Err(e) => return Err(e),
        }
    }
    // Only now, with every line checked, is anything written: the session, its
    // events and the attachments they carry, in one transaction.
    let new = NewSession {
        name: name.clone(),
        title: header.title.clone(),
        project: request.project,
        model: header.model.clone(),
        parent_id: None,
        fork_seq: None,
        created_at: Some(header.created_at),
    };
    let session = match store.import_stream(new, importer.into_events()?).await {
        // Taken between the check above and the write.
        Err(Error::AlreadyExists { .. }) => return Err(taken(&name)),
        other => other?,
    };
    // The index's live-context size is kept by whoever appends; an import appends
    // everything at once, so it sets it here for `list` and `show`.
    let live_tokens = live_tokens(store, &session, request.knowledge_retention).await?;
    let update = SessionUpdate {
        live_tokens: Some(live_tokens),
        ..SessionUpdate::default()
    };
    let session = store.update_session(session.id, update).await?;
    Ok(Imported {
        session,
        source_project: header.project,
        events: survey.events,
        attachments: survey.attachments,
    })
}

fn taken(name: &SessionName) -> Error {
    Error::AlreadyExists {
        what: "session",
        name: format!("{name} (pass --name NEW to import this file under another name)"),
    }
}
