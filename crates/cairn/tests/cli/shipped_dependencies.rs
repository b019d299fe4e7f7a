//! What the shipped binary is built from. tiktoken-rs embeds its own copy of the BPE
//! tables cairn already ships for counting (bpe-openai), which doubled the size of the
//! binary; it may be the tests' oracle, never a dependency of `cairn`.

use std::process::Command;

/// The crates `cairn` is built from (normal and build dependencies, no dev ones).
fn shipped_crates() -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "-p", "cairn", "-e", "normal,build"])
        .args(["--prefix", "none", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn tiktoken_rs_is_not_in_the_shipped_binary() {
    let crates = shipped_crates();
    assert!(
        crates.iter().any(|c| c == "bpe-openai"),
        "the tree names the tokenizer cairn counts with: {crates:?}"
    );
    assert!(
        !crates.iter().any(|c| c == "tiktoken-rs"),
        "tiktoken-rs is a dependency of the shipped binary; keep it a dev-dependency"
    );
}
