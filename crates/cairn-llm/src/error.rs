//! Provider errors, classified so the agent can show them in plain words and keep the
//! session usable.

use std::fmt;
use std::time::Duration;

use crate::ChatResponse;

/// What kind of failure this is; decides whether a retry can help and how a face
/// presents it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// No key / base URL for the provider of the model; the message names the
    /// environment variables and config keys to set.
    NotConfigured,
    /// The model name is not `provider:model` or names an unknown provider.
    InvalidModel,
    /// 401/403: the key was refused.
    Auth,
    /// 429 after every retry was used.
    RateLimit,
    /// 400/404/413/422 and similar: the request itself is wrong.
    BadRequest,
    /// The conversation does not fit the model's context window (a bad request that
    /// compaction can fix).
    ContextTooLong,
    /// 5xx after every retry was used (Anthropic 529 `overloaded` included).
    Server,
    /// Connection refused/reset, DNS, TLS, or the connection cut mid-stream.
    Network,
    /// Connect, first-byte or idle timeout.
    Timeout,
    /// The provider sent something that is not its documented stream format.
    MalformedStream,
    /// The request holds something this provider cannot take (e.g. video).
    Unsupported,
}

impl ErrorKind {
    /// Whether sending the same request again may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimit | ErrorKind::Server | ErrorKind::Network | ErrorKind::Timeout
        )
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorKind::NotConfigured => "not_configured",
            ErrorKind::InvalidModel => "invalid_model",
            ErrorKind::Auth => "auth",
            ErrorKind::RateLimit => "rate_limit",
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::ContextTooLong => "context_too_long",
            ErrorKind::Server => "server",
            ErrorKind::Network => "network",
            ErrorKind::Timeout => "timeout",
            ErrorKind::MalformedStream => "malformed_stream",
            ErrorKind::Unsupported => "unsupported",
        }
    }
}

/// Which wait ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutPhase {
    Connect,
    /// Waiting for the response headers / first bytes.
    FirstByte,
    /// Waiting between two chunks of a started stream.
    Idle,
}

impl fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutPhase::Connect => "connecting",
            TimeoutPhase::FirstByte => "waiting for the first byte of the answer",
            TimeoutPhase::Idle => "waiting for the next part of the answer",
        })
    }
}

/// A failed model request, in plain words.
///
/// `Display` gives one sentence a person can act on, e.g. "anthropic refused the API
/// key (HTTP 401): invalid x-api-key. Check ANTHROPIC_API_KEY or [providers.anthropic]
/// api_key". It never contains a secret.
///
/// When a stream breaks after output arrived (malformed chunk, connection cut, idle
/// timeout), [`LlmError::partial`] holds what was received so far, so the caller can
/// keep it as an interrupted answer.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct LlmError {
    pub kind: ErrorKind,
    /// `openai`, `anthropic`, … (empty when no provider was chosen yet).
    pub provider: String,
    /// HTTP status, when the provider answered with one.
    pub status: Option<u16>,
    /// The full sentence shown to people.
    pub message: String,
    /// The provider's own request id, when it sent one.
    pub request_id: Option<String>,
    /// How long the provider asked to wait (rate limits), if it said.
    pub retry_after: Option<Duration>,
    /// How many HTTP attempts were made before giving up.
    pub attempts: u32,
    /// Output received before a stream broke.
    pub partial: Option<Box<ChatResponse>>,
    /// Set when the provider said not to retry (quota exhausted, `x-should-retry:
    /// false`) or nothing listens at the address.
    pub(crate) do_not_retry: bool,
}

impl LlmError {
    pub fn new(kind: ErrorKind, provider: impl Into<String>, message: impl Into<String>) -> Self {
        LlmError {
            kind,
            provider: provider.into(),
            status: None,
            // Messages name the base URL (and reqwest's errors quote it): its
            // credentials never reach a person, a log or the store.
            message: cairn_core::scrub::scrub_urls(&message.into()).into_owned(),
            request_id: None,
            retry_after: None,
            attempts: 0,
            partial: None,
            do_not_retry: false,
        }
    }

    pub(crate) fn invalid_model(message: String) -> Self {
        LlmError::new(ErrorKind::InvalidModel, "", message)
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The output received before the stream broke, if any (non-empty content).
    pub fn partial(&self) -> Option<&ChatResponse> {
        self.partial.as_deref().filter(|p| p.has_content())
    }

    /// Take the partial output out of the error.
    pub fn take_partial(&mut self) -> Option<ChatResponse> {
        self.partial.take().map(|b| *b).filter(|p| p.has_content())
    }

    pub(crate) fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }
}
