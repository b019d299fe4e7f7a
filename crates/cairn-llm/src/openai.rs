//! OpenAI-compatible chat completions.

use reqwest::Client;

use crate::client::Endpoint;
use crate::{
    Capabilities, ChatProvider, ChatRequest, ChatStream, ClientOptions, ErrorKind, LlmError,
    ModelRef, ProviderKind,
};

pub(crate) struct OpenAiProvider {
    kind: ProviderKind,
    #[allow(dead_code)]
    http: Client,
    #[allow(dead_code)]
    endpoint: Endpoint,
    #[allow(dead_code)]
    options: ClientOptions,
}

impl OpenAiProvider {
    pub fn new(
        kind: ProviderKind,
        http: Client,
        endpoint: Endpoint,
        options: ClientOptions,
    ) -> Self {
        OpenAiProvider {
            kind,
            http,
            endpoint,
            options,
        }
    }
}

impl ChatProvider for OpenAiProvider {
    fn name(&self) -> &str {
        self.kind.as_str()
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            images: true,
            video: false,
        }
    }
    fn stream(&self, _model: &ModelRef, _request: ChatRequest) -> ChatStream {
        ChatStream::failed(LlmError::new(
            ErrorKind::Unsupported,
            self.name(),
            "not implemented yet",
        ))
    }
}
