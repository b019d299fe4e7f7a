//! Context windows of well-known models (tokens), for `/info`. Unknown models have
//! none: `/info` says so rather than guess.

/// The context window of `provider:model`, if known. Dated snapshots and `-latest`
/// aliases count as their base model.
pub fn context_window(model: &str) -> Option<u64> {
    let (provider, name) = model.split_once(':')?;
    let bare = name.rsplit('/').next().unwrap_or(name);
    let bare = bare.strip_suffix("-latest").unwrap_or(bare);
    const TABLE: &[(&str, u64)] = &[
        ("gpt-5", 400_000),
        ("gpt-4.1", 1_047_576),
        ("gpt-4o", 128_000),
        ("o4-mini", 200_000),
        ("o3", 200_000),
        ("o1", 200_000),
        ("codex-mini", 200_000),
        ("claude-", 200_000),
    ];
    if provider == "ollama" {
        return None;
    }
    TABLE
        .iter()
        .find(|(prefix, _)| bare.starts_with(prefix))
        .map(|(_, window)| *window)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_families() {
        assert_eq!(context_window("openai:gpt-4.1-mini"), Some(1_047_576));
        assert_eq!(
            context_window("anthropic:claude-sonnet-4-5-20250929"),
            Some(200_000)
        );
        assert_eq!(context_window("openrouter:openai/gpt-4o"), Some(128_000));
        assert_eq!(context_window("ollama:qwen2.5-coder"), None);
        assert_eq!(context_window("openai:mystery"), None);
    }
}
