//! Attachment garbage collection: what no event refers to goes, what any session
//! still shares (by content) stays, and bytes put ahead of their event wait.

use cairn_core::attachment::sha256_hex;
use cairn_core::{AttachmentGarbage, ContentBlock, Error, Message, Payload, Role};

use crate::Fixture;
use crate::support::*;

fn with_image(seq: u64, bytes: &[u8]) -> cairn_core::Event {
    imported(
        seq,
        Payload::Message(Message::new(
            Role::User,
            vec![
                ContentBlock::text("look"),
                image(&sha256_hex(bytes), Some(bytes)),
            ],
        )),
    )
}

pub async fn unreferenced_attachments_are_collected_and_shared_ones_kept(t: Fixture) {
    let shared: &[u8] = b"shared image bytes";
    let own: &[u8] = b"only alpha has these";
    t.store
        .import_session(
            new_session("alpha"),
            vec![with_image(1, shared), with_image(2, own)],
        )
        .await
        .unwrap();
    t.store
        .import_session(new_session("beta"), vec![with_image(1, shared)])
        .await
        .unwrap();
    assert_eq!(
        t.store.collect_attachments(false).await.unwrap(),
        AttachmentGarbage::default()
    );

    t.store.delete_session(&name("alpha")).await.unwrap();
    let expected = AttachmentGarbage {
        count: 1,
        bytes: own.len() as u64,
    };
    // A dry run counts and removes nothing.
    assert_eq!(t.store.collect_attachments(false).await.unwrap(), expected);
    assert!(t.store.attachment(&sha256_hex(own)).await.is_ok());

    assert_eq!(t.store.collect_attachments(true).await.unwrap(), expected);
    let gone = t.store.attachment(&sha256_hex(own)).await.unwrap_err();
    assert!(matches!(gone, Error::NotFound { .. }), "{gone}");
    // Beta still refers to the shared bytes.
    assert_eq!(
        t.store.attachment(&sha256_hex(shared)).await.unwrap().bytes,
        shared
    );
    assert_eq!(
        t.store.collect_attachments(true).await.unwrap(),
        AttachmentGarbage::default()
    );
    // Beta still exports whole.
    let beta = t.store.session(&name("beta")).await.unwrap();
    assert_eq!(full_history(&t.store, beta.id).await.len(), 1);

    t.store.delete_session(&name("beta")).await.unwrap();
    assert_eq!(t.store.collect_attachments(true).await.unwrap().count, 1);
}

pub async fn attachments_put_ahead_of_their_event_are_kept(t: Fixture) {
    // `/image` stores the bytes before the prompt that refers to them is sent.
    let waiting = t
        .store
        .put_attachment("image/png", b"pasted, not sent yet".to_vec())
        .await
        .unwrap();
    assert_eq!(
        t.store.collect_attachments(true).await.unwrap(),
        AttachmentGarbage::default()
    );
    assert!(t.store.attachment(&waiting.sha256).await.is_ok());

    // Bytes a deleted session left are pending again once put again.
    let bytes: &[u8] = b"reused after the session went";
    t.store
        .import_session(new_session("gone"), vec![with_image(1, bytes)])
        .await
        .unwrap();
    t.store.delete_session(&name("gone")).await.unwrap();
    t.store
        .put_attachment("image/png", bytes.to_vec())
        .await
        .unwrap();
    assert_eq!(
        t.store.collect_attachments(true).await.unwrap(),
        AttachmentGarbage::default()
    );

    // A file snapshot refers to its bytes by key, not under `sha256`.
    let file: &[u8] = b"fn main() {}";
    t.store
        .import_session(new_session("carrier"), vec![with_image(1, file)])
        .await
        .unwrap();
    let mut message = Message::text(Role::Tool, "wrote src/main.rs");
    message.extra.insert(
        "file_snapshot".into(),
        serde_json::json!({"path": "src/main.rs", "before": sha256_hex(file)}),
    );
    t.store
        .import_session(
            new_session("snap"),
            vec![imported(1, Payload::Message(message))],
        )
        .await
        .unwrap();
    t.store.delete_session(&name("carrier")).await.unwrap();
    assert_eq!(
        t.store.collect_attachments(true).await.unwrap(),
        AttachmentGarbage::default()
    );
    assert!(t.store.attachment(&sha256_hex(file)).await.is_ok());
}

pub async fn history_bytes_count_a_sessions_own_events(t: Fixture) {
    let s = t.store.create_session(new_session("parent")).await.unwrap();
    assert_eq!(t.store.history_bytes(s.id).await.unwrap(), 0);
    t.store
        .append_events(
            s.id,
            vec![text(Role::User, "hello"), text(Role::Assistant, "hi")],
        )
        .await
        .unwrap();
    let parent_bytes = t.store.history_bytes(s.id).await.unwrap();
    assert!(parent_bytes > 20, "{parent_bytes}");
    let fork = t
        .store
        .fork_session(s.id, None, new_session("fork"))
        .await
        .unwrap();
    // The fork shares the parent's events without owning them.
    assert_eq!(t.store.history_bytes(fork.id).await.unwrap(), 0);
    t.store
        .append_events(fork.id, vec![text(Role::User, "more")])
        .await
        .unwrap();
    let fork_bytes = t.store.history_bytes(fork.id).await.unwrap();
    assert!(fork_bytes > 0 && fork_bytes < parent_bytes, "{fork_bytes}");
}
