//! cairn-llm: talks to language-model providers, and nothing else.
//!
//! Three wire formats cover every provider cairn supports:
//! - OpenAI-compatible chat completions (`openai:`, `openrouter:`, `ollama:`, and any
//!   compatible server — llama.cpp, vLLM, LM Studio — through `base_url`);
//! - Anthropic Messages (`anthropic:`);
//! - Google's Gemini API (`gemini:`), the one that takes video.
//!
//! Models are named `provider:model` ([`ModelRef`], parsed once where the name enters
//! cairn); what cairn knows about a model (tokenizer, context window, price) is in
//! one catalogue (`catalogue.rs`, [`PriceTable`]). A turn is sent as a
//! [`ChatRequest`] built from cairn's own domain types ([`cairn_core::Message`]) and
//! comes back as a [`ChatStream`] of [`StreamEvent`]s that ends with
//! [`StreamEvent::Finished`] carrying the whole [`ChatResponse`]:
//!
//! ```no_run
//! # async fn demo(settings: &cairn_core::settings::Settings) -> Result<(), cairn_llm::LlmError> {
//! use cairn_core::{Message, Role};
//! use cairn_llm::{ChatRequest, LlmClient, StreamEvent};
//! use futures::StreamExt;
//!
//! let client = LlmClient::from_settings(settings)?;
//! let request = ChatRequest::new("anthropic:claude-sonnet-4-5")
//!     .with_system("You are a careful engineer.")
//!     .with_messages(vec![Message::text(Role::User, "hello")]);
//! let mut stream = client.stream(request);
//! while let Some(event) = stream.next().await {
//!     match event? {
//!         StreamEvent::TextDelta(text) => print!("{text}"),
//!         StreamEvent::Finished(response) => {
//!             let _message = response.into_message(); // append it to the session
//!         }
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! The crate knows nothing of storage or terminals: the caller resolves attachments to
//! bytes, stores what comes back and decides how to show it.

mod anthropic;
mod assemble;
mod catalogue;
mod client;
mod error;
mod gemini;
mod gemini_files;
mod gemini_schema;
mod http;
mod model;
mod openai;
pub mod pricing;
mod provider;
mod request;
mod response;
mod retry;
pub mod sse;
mod stream;

pub use client::{ClientOptions, LlmClient, ProviderCheck, Timeouts};
pub use error::{ErrorKind, LlmError, TimeoutPhase};
pub use model::{ModelRef, ProviderKind};
pub use pricing::{LongContextPrice, ModelPrice, PriceTable};
pub use provider::{Capabilities, ChatProvider};
pub use request::{ChatRequest, Reasoning, ToolDef};
pub use response::{ChatResponse, StopReason};
pub use retry::RetryPolicy;
pub use stream::{ChatStream, StreamEvent};
