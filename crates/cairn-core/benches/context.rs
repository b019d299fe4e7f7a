//! Context-management benchmarks (issue 5): `cargo bench -p cairn-core --bench context`.

use cairn_core::tokens::TokenCounter;

fn main() {
    divan::main();
}

fn one_megabyte_of_text() -> String {
    let mut text = String::new();
    let mut i = 0u64;
    while text.len() < 1_000_000 {
        text.push_str(&format!(
            "fn handle_{i}(req: &Request) -> Result<Response, Error> {{\n    \
             let body = serde_json::to_string(&req.body)?; // the quick brown fox {i}\n    \
             Ok(Response::new(body))\n}}\n"
        ));
        i += 1;
    }
    text
}

/// Counting 1 MB of text with o200k_base (tables loaded before timing).
#[divan::bench]
fn count_1mb_text_o200k(bencher: divan::Bencher) {
    let counter = TokenCounter::for_model(Some("openai:gpt-4.1"));
    let text = one_megabyte_of_text();
    counter.count_text("warm up");
    bencher.bench(|| counter.count_texts(&[divan::black_box(text.as_str())]));
}
