//! The stream of events of one model turn.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{Stream, StreamExt};
use serde_json::Value;

use crate::{ChatResponse, LlmError};

/// One thing that happened while a turn streamed.
///
/// A stream yields `Started`, then deltas, and ends with exactly one `Finished` — or
/// with one `Err(LlmError)`, after which it yields nothing. `Retrying` comes before a
/// new attempt: before `Started`, or after it when the attempt failed before any
/// output (so a delta is never repeated).
#[derive(Clone, Debug, PartialEq)]
pub enum StreamEvent {
    /// A transient failure (429, 5xx, connection reset) before any output; the request
    /// is sent again after `delay`. `attempt` is the attempt that failed (1-based).
    Retrying {
        attempt: u32,
        delay: Duration,
        reason: String,
    },
    /// The provider accepted the request and started answering.
    Started { request_id: Option<String> },
    /// Visible answer text.
    TextDelta(String),
    /// Reasoning / extended-thinking text.
    ThinkingDelta(String),
    /// The model began a tool call; its arguments are still streaming.
    ToolCallStarted { id: String, name: String },
    /// A tool call's arguments are complete and parsed.
    ToolCall {
        id: String,
        name: String,
        input: Value,
    },
    /// The whole answer, with usage and stop reason. Always the last event.
    Finished(ChatResponse),
}

/// The stream returned by [`crate::ChatProvider::stream`] and
/// [`crate::LlmClient::stream`]. Dropping it cancels the request (closes the
/// connection).
pub struct ChatStream {
    inner: Pin<Box<dyn Stream<Item = Result<StreamEvent, LlmError>> + Send>>,
}

impl ChatStream {
    pub fn new(inner: impl Stream<Item = Result<StreamEvent, LlmError>> + Send + 'static) -> Self {
        ChatStream {
            inner: Box::pin(inner),
        }
    }

    /// A stream that fails at once with `error`.
    pub fn failed(error: LlmError) -> Self {
        ChatStream::new(futures::stream::once(async move { Err(error) }))
    }

    /// Drain the stream and return the finished answer (no deltas shown).
    pub async fn into_response(mut self) -> Result<ChatResponse, LlmError> {
        while let Some(event) = self.next().await {
            if let StreamEvent::Finished(response) = event? {
                return Ok(response);
            }
        }
        Err(LlmError::new(
            crate::ErrorKind::MalformedStream,
            "",
            "the answer ended without a final event",
        ))
    }
}

impl Stream for ChatStream {
    type Item = Result<StreamEvent, LlmError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl std::fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChatStream")
    }
}
