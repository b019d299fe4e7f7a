//! Inline media in events: core takes the checked bytes out of the payload
//! ([`cairn_core::attachment::take_inline_media`]); PostgreSQL keeps them once as attachments.

use std::borrow::Cow;

use cairn_core::Payload;
use cairn_core::attachment::take_inline_media;
use deadpool_postgres::Transaction;

use crate::attachments;
use crate::fail::R;

/// The payload as it is stored, its inline media put into attachments.
pub(crate) async fn without_inline_media<'p>(
    tx: &Transaction<'_>,
    seq: u64,
    payload: &'p Payload,
) -> R<Cow<'p, Payload>> {
    let (stored, media) = take_inline_media(seq, payload)?;
    for m in media {
        attachments::put(tx, &m.mime, &m.bytes).await?;
    }
    Ok(stored)
}
