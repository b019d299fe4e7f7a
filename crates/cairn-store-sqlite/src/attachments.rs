//! Content-addressed attachments: the sha256 of the bytes is the key, so storing
//! the same bytes twice keeps one copy.

use cairn_core::{Attachment, AttachmentRef, Error};
use rusqlite::{Connection, OptionalExtension, params};

use crate::fail::R;

pub(crate) fn put(conn: &Connection, mime: &str, bytes: &[u8]) -> R<AttachmentRef> {
    let sha256 = cairn_core::attachment::sha256_hex(bytes);
    let size = bytes.len() as u64;
    conn.prepare_cached(
        "INSERT OR IGNORE INTO attachments (sha256, mime, size, bytes) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![sha256, mime, size, bytes])?;
    Ok(AttachmentRef {
        sha256,
        mime: mime.to_owned(),
        size,
    })
}

pub(crate) fn get(conn: &Connection, sha256: &str) -> R<Attachment> {
    let key = sha256.to_ascii_lowercase();
    conn.prepare_cached("SELECT mime, size, bytes FROM attachments WHERE sha256 = ?1")?
        .query_row([&key], |row| {
            Ok(Attachment {
                reference: AttachmentRef {
                    sha256: key.clone(),
                    mime: row.get(0)?,
                    size: row.get(1)?,
                },
                bytes: row.get(2)?,
            })
        })
        .optional()?
        .ok_or_else(|| Error::not_found("attachment", sha256).into())
}
