//! Anthropic Messages.

use reqwest::Client;

use crate::client::Endpoint;
use crate::{
    Capabilities, ChatProvider, ChatRequest, ChatStream, ClientOptions, ErrorKind, LlmError,
    ModelRef,
};

pub(crate) struct AnthropicProvider {
    #[allow(dead_code)]
    http: Client,
    #[allow(dead_code)]
    endpoint: Endpoint,
    #[allow(dead_code)]
    options: ClientOptions,
}

impl AnthropicProvider {
    pub fn new(http: Client, endpoint: Endpoint, options: ClientOptions) -> Self {
        AnthropicProvider {
            http,
            endpoint,
            options,
        }
    }
}

impl ChatProvider for AnthropicProvider {
    fn name(&self) -> &str {
        "anthropic"
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
