//! `/video` with a Gemini model: the clip reaches the model, inline when small and
//! through Gemini's Files API when large, byte for byte as stored.

use base64::Engine as _;
use cairn_agent::{Agent, SessionTarget};
use cairn_testkit::fake_llm::Turn;

use crate::support::*;

/// An mp4 header followed by `len` bytes in a pattern that shows any corruption.
fn clip(len: usize) -> Vec<u8> {
    let mut bytes = b"\0\0\0\x18ftypmp42".to_vec();
    bytes.extend((0..len).map(|i| (i % 253) as u8));
    bytes
}

#[tokio::test]
async fn videos_reach_gemini_inline_or_through_the_files_api() {
    let world = World::new([Turn::text("a short clip"), Turn::text("a long clip")]);
    let small = clip(32 * 1024);
    let large = clip(16 * 1024 * 1024);
    std::fs::write(world.path("small.mp4"), &small).unwrap();
    std::fs::write(world.path("large.mp4"), &large).unwrap();
    let mut ui = ui();
    let mut agent = Agent::open(
        world.store.clone(),
        world.options_with_model_flag("gemini:gemini-2.5-flash"),
        SessionTarget::CreateOrResume(named("clips")),
        &mut ui,
    )
    .await
    .unwrap();

    say(
        &mut agent,
        &mut ui,
        &format!("/video {}", world.path("small.mp4").display()),
    )
    .await;
    assert!(
        command_output(&ui).contains("video/mp4"),
        "{:?}",
        errors(&ui)
    );
    say(&mut agent, &mut ui, "what happens?").await;
    let parts = world.request(0)["contents"][0]["parts"].clone();
    let inline = parts
        .as_array()
        .unwrap()
        .iter()
        .find_map(|p| p.get("inlineData"))
        .unwrap_or_else(|| panic!("no inlineData in {parts}"))
        .clone();
    assert_eq!(inline["mimeType"], "video/mp4");
    let sent = base64::engine::general_purpose::STANDARD
        .decode(inline["data"].as_str().unwrap())
        .unwrap();
    assert!(sent == small, "the inline bytes differ");
    assert!(world.fake.uploaded_files().is_empty());

    say(
        &mut agent,
        &mut ui,
        &format!("/video {}", world.path("large.mp4").display()),
    )
    .await;
    say(&mut agent, &mut ui, "and this one?").await;
    let files = world.fake.uploaded_files();
    assert_eq!(files.len(), 1, "{:?}", errors(&ui));
    assert!(files[0].bytes == large, "the uploaded bytes differ");
    let last = world.fake.requests().last().unwrap().body.to_string();
    assert!(
        last.contains(&files[0].name),
        "the clip goes by its file URI"
    );
    assert!(last.len() < 1_000_000, "the large clip is not inline");
    agent.close().await.unwrap();
}
