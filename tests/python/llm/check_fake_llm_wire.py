"""Checks that cairn's fake LLM server speaks the providers' wire formats exactly.

The official `openai` and `anthropic` SDKs are pointed at the fake (base_url) and
must parse what it sends: streamed chunks (raw iteration and the SDKs' own stream
accumulators, which reject anything out of protocol), non-streamed responses, and
error bodies. Run by crates/cairn-llm/tests/providers/sdk_wire_format.rs, which
starts the fake with the scripted turns this file expects, in this order:

  1-3. OpenAI: raw stream, stream helper, non-streamed     (the reply below)
  4-6. Anthropic: raw stream, stream helper, non-streamed  (the reply below)
  7.   OpenAI 429 with retry-after                          8. Anthropic 429

The reply: thinking "Checking the file.", text "Hello from the fake.", tool call
read_file {"path": "src/main.rs", "range": [1, 20]}; usage input 100, output 20,
cache read 50, cache write 30, reasoning 7.

Usage: check_fake_llm_wire.py BASE_URL  (http://127.0.0.1:PORT)
"""

import json
import sys

import anthropic
import openai

BASE = sys.argv[1]
TEXT = "Hello from the fake."
THINKING = "Checking the file."
ARGS = {"path": "src/main.rs", "range": [1, 20]}
TOOLS_OPENAI = [{
    "type": "function",
    "function": {
        "name": "read_file",
        "description": "Read a file",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
    },
}]
TOOLS_ANTHROPIC = [{
    "name": "read_file",
    "description": "Read a file",
    "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}},
}]
MESSAGES = [{"role": "user", "content": "read src/main.rs"}]


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def check_openai_usage(usage):
    # prompt = input + cache_read + cache_write; completion = output + reasoning.
    check(usage is not None, "openai: usage missing")
    check(usage.prompt_tokens == 180, f"openai: prompt_tokens {usage.prompt_tokens}")
    check(usage.completion_tokens == 27, f"openai: completion_tokens {usage.completion_tokens}")
    check(usage.total_tokens == 207, f"openai: total_tokens {usage.total_tokens}")
    check(usage.prompt_tokens_details.cached_tokens == 50, "openai: cached_tokens")
    check(usage.completion_tokens_details.reasoning_tokens == 7, "openai: reasoning_tokens")


def check_openai_message(message, finish_reason):
    check(message.content == TEXT, f"openai: content {message.content!r}")
    check(finish_reason == "tool_calls", f"openai: finish_reason {finish_reason}")
    calls = message.tool_calls
    check(calls is not None and len(calls) == 1, f"openai: tool_calls {calls}")
    check(calls[0].id == "call_1" and calls[0].type == "function", "openai: tool call id/type")
    check(calls[0].function.name == "read_file", "openai: tool name")
    check(json.loads(calls[0].function.arguments) == ARGS, "openai: tool arguments")


def openai_checks():
    client = openai.OpenAI(api_key="sk-test-python", base_url=BASE + "/v1", max_retries=0)
    kwargs = dict(model="gpt-4.1", messages=MESSAGES, tools=TOOLS_OPENAI)

    # 1. Raw stream: every chunk must validate as ChatCompletionChunk.
    text, args, name, usage, finish, chunks = "", "", None, None, None, 0
    for chunk in client.chat.completions.create(
        stream=True, stream_options={"include_usage": True}, **kwargs
    ):
        chunks += 1
        check(chunk.object == "chat.completion.chunk", f"openai: object {chunk.object}")
        if chunk.usage is not None:
            check(chunk.choices == [], "openai: the usage chunk must have no choices")
            usage = chunk.usage
        for choice in chunk.choices:
            delta = choice.delta
            text += delta.content or ""
            for call in delta.tool_calls or []:
                check(call.index == 0, "openai: tool call index")
                if call.function.name:
                    name = call.function.name
                args += call.function.arguments or ""
            finish = choice.finish_reason or finish
    check(chunks > 10, f"openai: expected many small chunks, got {chunks}")
    check(text == TEXT, f"openai raw stream: text {text!r}")
    check(name == "read_file" and json.loads(args) == ARGS, f"openai raw stream: tool {name} {args}")
    check(finish == "tool_calls", f"openai raw stream: finish {finish}")
    check_openai_usage(usage)

    # 2. The SDK's own accumulator.
    with client.chat.completions.stream(stream_options={"include_usage": True}, **kwargs) as stream:
        for _event in stream:
            pass
        final = stream.get_final_completion()
    check_openai_message(final.choices[0].message, final.choices[0].finish_reason)
    check_openai_usage(final.usage)

    # 3. Non-streamed.
    completion = client.chat.completions.create(**kwargs)
    check(completion.object == "chat.completion", "openai: object")
    check_openai_message(completion.choices[0].message, completion.choices[0].finish_reason)
    check_openai_usage(completion.usage)


def check_anthropic_message(message):
    kinds = [block.type for block in message.content]
    check(kinds == ["thinking", "text", "tool_use"], f"anthropic: blocks {kinds}")
    check(message.content[0].thinking == THINKING, "anthropic: thinking text")
    check(message.content[0].signature == "sig-python", "anthropic: signature")
    check(message.content[1].text == TEXT, f"anthropic: text {message.content[1].text!r}")
    tool = message.content[2]
    check(tool.id == "toolu_1" and tool.name == "read_file", "anthropic: tool id/name")
    check(tool.input == ARGS, f"anthropic: tool input {tool.input}")
    check(message.stop_reason == "tool_use", f"anthropic: stop_reason {message.stop_reason}")
    u = message.usage
    check(u.input_tokens == 100, f"anthropic: input_tokens {u.input_tokens}")
    check(u.output_tokens == 27, f"anthropic: output_tokens {u.output_tokens}")
    check(u.cache_read_input_tokens == 50, "anthropic: cache_read_input_tokens")
    check(u.cache_creation_input_tokens == 30, "anthropic: cache_creation_input_tokens")


def anthropic_checks():
    client = anthropic.Anthropic(api_key="sk-ant-test-python", base_url=BASE, max_retries=0)
    kwargs = dict(model="claude-sonnet-4-5", max_tokens=1024, messages=MESSAGES, tools=TOOLS_ANTHROPIC)

    # 4. Raw stream: every event must validate as a RawMessageStreamEvent.
    seen = []
    for event in client.messages.create(stream=True, **kwargs):
        seen.append(event.type)
    check(seen[0] == "message_start" and seen[-1] == "message_stop", f"anthropic: order {seen}")
    check("content_block_delta" in seen and "message_delta" in seen, f"anthropic: events {seen}")

    # 5. The SDK's accumulator (input_json deltas joined and parsed by the SDK).
    with client.messages.stream(**kwargs) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    check(text == TEXT, f"anthropic text_stream {text!r}")
    check_anthropic_message(final)

    # 6. Non-streamed.
    check_anthropic_message(client.messages.create(**kwargs))


def error_checks():
    # 7-8. Errors parse into the SDKs' typed exceptions, with the retry-after header.
    client = openai.OpenAI(api_key="sk-test-python", base_url=BASE + "/v1", max_retries=0)
    try:
        client.chat.completions.create(model="gpt-4.1", messages=MESSAGES)
        raise AssertionError("openai: 429 not raised")
    except openai.RateLimitError as e:
        check(e.status_code == 429, "openai: status")
        check(e.response.headers.get("retry-after") == "3", "openai: retry-after header")
        check(e.code == "rate_limit_exceeded", f"openai: code {e.code}")
    client = anthropic.Anthropic(api_key="sk-ant-test-python", base_url=BASE, max_retries=0)
    try:
        client.messages.create(model="claude-sonnet-4-5", max_tokens=10, messages=MESSAGES)
        raise AssertionError("anthropic: 429 not raised")
    except anthropic.RateLimitError as e:
        check(e.status_code == 429, "anthropic: status")
        check(e.body["error"]["type"] == "rate_limit_error", f"anthropic: body {e.body}")


openai_checks()
anthropic_checks()
error_checks()
print("ok: openai", openai.__version__, "anthropic", anthropic.__version__)
