//! The store's size by part: every table and index falls in one part, the parts
//! add up to no more than the store, and what is written shows in its part.

use cairn_core::store::StoreSpace;
use cairn_core::{Message, Payload, Role};

use crate::Fixture;
use crate::support::*;

const PARTS: [&str; 5] = [
    "events",
    "event_indexes",
    "search_index",
    "attachments",
    "other",
];

/// Text no compressor shrinks much: hex digits of a 64-bit mixing sequence.
fn incompressible(bytes: usize) -> String {
    let mut state: u64 = 0x243f_6a88_85a3_08d3;
    let mut out = String::with_capacity(bytes + 16);
    while out.len() < bytes {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        out.push_str(&format!("{:016x} ", z ^ (z >> 31)));
    }
    out
}

fn assert_consistent(space: &StoreSpace) {
    for object in &space.objects {
        assert!(PARTS.contains(&object.part.as_str()), "{object:?}");
    }
    let of = |part: &str| -> u64 {
        space
            .objects
            .iter()
            .filter(|o| o.part == part)
            .map(|o| o.bytes)
            .sum()
    };
    assert_eq!(of("events"), space.events);
    assert_eq!(of("event_indexes"), space.event_indexes);
    assert_eq!(of("search_index"), space.search_index);
    assert_eq!(of("attachments"), space.attachments);
    assert_eq!(of("other"), space.other);
    let parts = space.events
        + space.event_indexes
        + space.search_index
        + space.attachments
        + space.other
        + space.free;
    assert!(parts <= space.total_bytes, "{space:?}");
    assert!(
        space.objects.iter().any(|o| o.name == "events"),
        "{space:?}"
    );
}

pub async fn the_store_size_is_shown_by_part(t: Fixture) {
    let empty = t.store.space().await.unwrap();
    assert_consistent(&empty);

    let big = incompressible(400_000);
    t.store
        .import_session(
            new_session("big"),
            vec![
                imported(1, message(Role::User, "zebra crossing")),
                imported(2, Payload::Message(Message::text(Role::Assistant, big))),
            ],
        )
        .await
        .unwrap();
    let full = t.store.space().await.unwrap();
    assert_consistent(&full);
    assert!(
        full.events >= empty.events + 200_000,
        "the event log holds the 400 KB message: {empty:?} then {full:?}"
    );
    assert!(full.search_index > 0, "{full:?}");
    assert!(
        full.total_bytes > empty.total_bytes,
        "{empty:?} then {full:?}"
    );

    // Giving space back after a delete works on every backend (some give none).
    t.store.delete_session(&name("big")).await.unwrap();
    t.store.reclaim_space().await.unwrap();
    assert_consistent(&t.store.space().await.unwrap());
}
