//! Content-addressed attachments (`bytea`): the sha256 of the bytes is the key, so
//! storing the same bytes twice keeps one copy.

use cairn_core::{Attachment, AttachmentRef, Error};
use deadpool_postgres::Transaction;

use crate::fail::R;
use crate::rows::{big, get, get_u64};

pub(crate) async fn put(tx: &Transaction<'_>, mime: &str, bytes: &[u8]) -> R<AttachmentRef> {
    let sha256 = cairn_core::attachment::sha256_hex(bytes);
    let size = bytes.len() as u64;
    let statement = tx
        .prepare_cached(
            "INSERT INTO attachments (sha256, mime, size, bytes) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (sha256) DO NOTHING",
        )
        .await?;
    tx.execute(&statement, &[&sha256, &mime, &big(size, "size")?, &bytes])
        .await?;
    Ok(AttachmentRef {
        sha256,
        mime: mime.to_owned(),
        size,
    })
}

pub(crate) async fn get_one(tx: &Transaction<'_>, sha256: &str) -> R<Attachment> {
    let key = sha256.to_ascii_lowercase();
    let statement = tx
        .prepare_cached("SELECT mime, size, bytes FROM attachments WHERE sha256 = $1")
        .await?;
    let Some(row) = tx.query_opt(&statement, &[&key]).await? else {
        return Err(Error::not_found("attachment", sha256).into());
    };
    Ok(Attachment {
        reference: AttachmentRef {
            sha256: key,
            mime: get(&row, 0)?,
            size: get_u64(&row, 1)?,
        },
        bytes: get(&row, 2)?,
    })
}
