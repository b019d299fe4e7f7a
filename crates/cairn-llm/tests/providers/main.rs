//! cairn-llm against the scripted fake LLM server (cairn-testkit), over real HTTP.

mod anthropic;
mod config;
mod faults;
mod gemini;
mod openai;
mod retries;
mod sdk_wire_format;
mod support;
