//! The provider trait every wire-format adapter implements.

use crate::{ChatRequest, ChatStream, ModelRef};

/// What a provider accepts besides text and tools.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    pub images: bool,
    pub video: bool,
}

/// A configured provider endpoint (one wire format, one base URL, one key).
///
/// Implementations retry transient failures themselves (reported as
/// [`crate::StreamEvent::Retrying`]) and enforce the timeouts of
/// [`crate::ClientOptions`].
pub trait ChatProvider: Send + Sync {
    /// `openai`, `anthropic`, `ollama`, `openrouter`.
    fn name(&self) -> &str;

    fn capabilities(&self) -> Capabilities;

    /// Send one turn for `model` (whose provider is this one) and stream the answer.
    /// Never fails synchronously: every failure is the stream's single `Err` item.
    fn stream(&self, model: &ModelRef, request: ChatRequest) -> ChatStream;
}
