//! What more than one test file of this crate needs.

use cairn_core::Store;
use cairn_core::event::encode_payload;
use ulid::Ulid;

/// Every event of a session as it would be exported: seq, time, kind and body.
pub(crate) async fn export(store: &dyn Store, id: Ulid) -> String {
    let mut out = String::new();
    for event in store.events_after(id, 0, 0).await.unwrap() {
        let body = serde_json::to_string(&encode_payload(&event.payload)).unwrap();
        out.push_str(&format!(
            "{} {} {} {body}\n",
            event.seq,
            event.ts,
            event.payload.kind()
        ));
    }
    out
}
