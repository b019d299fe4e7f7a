//! Inline media in events: core takes the checked bytes out of the payload
//! ([`cairn_core::attachment::take_inline_media`]); SQLite keeps them once as attachments.

use std::borrow::Cow;

use cairn_core::Payload;
use cairn_core::attachment::take_inline_media;
use rusqlite::Connection;

use crate::attachments;
use crate::fail::R;

/// The payload as it is stored, its inline media put into attachments.
pub(crate) fn without_inline_media<'p>(
    conn: &Connection,
    seq: u64,
    payload: &'p Payload,
) -> R<Cow<'p, Payload>> {
    let (stored, media) = take_inline_media(seq, payload)?;
    for m in media {
        attachments::put(conn, &m.mime, &m.bytes)?;
    }
    Ok(stored)
}
