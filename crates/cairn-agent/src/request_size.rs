//! How many tokens a request carries: a cheap bound made without a tokenizer, and the
//! exact (or estimated) count.

use cairn_core::tokens::TokenCounter;
use cairn_llm::ChatRequest;

/// What a request carries besides its messages, as text to count: the system prompt
/// and the tool definitions.
fn fixed_texts(request: &ChatRequest) -> [String; 2] {
    let tools = request
        .tools
        .iter()
        .map(|t| format!("{} {} {}", t.name, t.description, t.input_schema))
        .collect();
    [request.system.clone().unwrap_or_default(), tools]
}

/// More tokens than `request` can hold under any tokenizer, found without one (see
/// `TokenCounter::message_bound`).
pub(crate) fn token_bound(request: &ChatRequest) -> u64 {
    let fixed: usize = fixed_texts(request).iter().map(String::len).sum();
    fixed as u64
        + request
            .messages
            .iter()
            .map(TokenCounter::message_bound)
            .sum::<u64>()
}

/// The exact (or, for non-OpenAI models, estimated) tokens of `request`.
pub(crate) fn count(counter: &TokenCounter, request: &ChatRequest) -> u64 {
    let [system, tools] = fixed_texts(request);
    counter.count_messages(&request.messages) + counter.count_texts(&[&system, &tools])
}
