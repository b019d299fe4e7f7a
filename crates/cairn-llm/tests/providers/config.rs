use cairn_core::settings::{Provider, Providers, Settings};
use cairn_llm::{ChatRequest, ErrorKind, LlmClient, ModelRef, ProviderKind};

use crate::support::*;

#[tokio::test]
async fn no_provider_configured_names_what_to_set() {
    let client = LlmClient::new(Providers::default(), fast_options()).unwrap();
    let error = client.default_model().unwrap_err();
    assert_eq!(error.kind, ErrorKind::NotConfigured);
    let shown = error.to_string();
    for needle in [
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "[providers.anthropic]",
        "ollama:",
    ] {
        assert!(shown.contains(needle), "{needle} missing from: {shown}");
    }
    let (_, outcome) = run(&client, ChatRequest::new("anthropic:claude-sonnet-4-5")).await;
    let error = outcome.unwrap_err();
    assert_eq!(error.kind, ErrorKind::NotConfigured);
    let shown = error.to_string();
    assert!(
        shown.contains("ANTHROPIC_API_KEY")
            && shown.contains("[providers.anthropic]")
            && shown.contains("ANTHROPIC_BASE_URL"),
        "{shown}"
    );
    // Ollama is local and needs no configuration.
    assert_eq!(client.configured(), vec![ProviderKind::Ollama]);
    assert!(client.resolve("ollama:qwen2.5-coder").is_ok());
}

#[tokio::test]
async fn models_resolve_from_settings_and_environment() {
    let home = tempfile::tempdir().unwrap();
    let paths = cairn_core::paths::Paths::at(home.path());
    std::fs::write(
        paths.config_file(),
        "[providers.anthropic]\napi_key = \"sk-ant-from-config-1234\"\n",
    )
    .unwrap();
    let env = vec![(
        "OPENAI_BASE_URL".to_owned(),
        "http://127.0.0.1:8080/v1".to_owned(),
    )];
    let settings = Settings::resolve(paths, None, &env).unwrap();
    let client = LlmClient::from_settings(&settings).unwrap();
    assert_eq!(
        client.default_model().unwrap(),
        ModelRef::new(ProviderKind::Anthropic, "claude-sonnet-4-5")
    );
    assert!(
        client.resolve("openai:local-llama").is_ok(),
        "a base URL alone configures openai:"
    );
    let error = client
        .resolve("openrouter:anthropic/claude-sonnet-4.5")
        .unwrap_err();
    assert!(error.to_string().contains("OPENROUTER_API_KEY"), "{error}");
    let error = client.resolve("gpt-4.1").unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidModel);
    // The client's Debug output never shows a key.
    assert!(!format!("{client:?}").contains("sk-ant-from-config"));
}

#[tokio::test]
async fn a_bad_base_url_is_a_configuration_error() {
    let providers = Providers {
        openai: Provider {
            api_key: Some("k".into()),
            base_url: Some("localhost:8080/v1".into()),
        },
        ..Default::default()
    };
    let client = LlmClient::new(providers, fast_options()).unwrap();
    let error = client.resolve("openai:gpt-4.1").unwrap_err();
    assert_eq!(error.kind, ErrorKind::NotConfigured);
    assert!(error.to_string().contains("http://"), "{error}");
}
