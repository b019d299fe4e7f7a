"""Checks that cairn's fake LLM server speaks Gemini's wire format exactly.

Google's official `google-genai` SDK is pointed at the fake (http_options.base_url)
and must parse what it sends: streamed `streamGenerateContent?alt=sse` chunks, a
non-streamed `generateContent` answer, an error body, and the Files API (the SDK's
own resumable upload, then `files.get` until the file is ACTIVE). Run by
crates/cairn-llm/tests/providers/sdk_wire_format.rs, which starts the fake with the
scripted turns this file expects, in this order:

  1. streamed  2. non-streamed  (the reply below)  3. 429 with a retry delay of 3 s

The reply: thinking "Checking the file." (signature "c2lnLXB5dGhvbg==", base64 of
"sig-python"), text "Hello from
the fake.", function call read_file {"path": "src/main.rs", "range": [1, 20]}; usage
input 100, output 20, cache read 50, reasoning 7.

Usage: check_fake_gemini_wire.py BASE_URL  (http://127.0.0.1:PORT)
"""

import sys
import tempfile

from google import genai
from google.genai import errors, types

BASE = sys.argv[1]
TEXT = "Hello from the fake."
THINKING = "Checking the file."
ARGS = {"path": "src/main.rs", "range": [1, 20]}
MODEL = "gemini-2.5-pro"


def check(condition, what):
    if not condition:
        raise AssertionError(what)


client = genai.Client(api_key="test-gemini-key", http_options=types.HttpOptions(base_url=BASE))
config = types.GenerateContentConfig(
    system_instruction="Be careful.",
    thinking_config=types.ThinkingConfig(include_thoughts=True),
    tools=[types.Tool(function_declarations=[types.FunctionDeclaration(
        name="read_file",
        description="Read a file",
        parameters=types.Schema(type="OBJECT", properties={"path": types.Schema(type="STRING")}),
    )])],
    automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
)


def check_usage(usage, where):
    check(usage is not None, f"{where}: usage missing")
    # promptTokenCount = input + cache read; candidates exclude thoughts.
    check(usage.prompt_token_count == 150, f"{where}: prompt {usage.prompt_token_count}")
    check(usage.cached_content_token_count == 50, f"{where}: cached")
    check(usage.candidates_token_count == 20, f"{where}: candidates")
    check(usage.thoughts_token_count == 7, f"{where}: thoughts")
    check(usage.total_token_count == 177, f"{where}: total {usage.total_token_count}")


def check_parts(parts, where):
    thoughts = "".join(p.text or "" for p in parts if p.thought)
    text = "".join(p.text or "" for p in parts if not p.thought)
    calls = [p.function_call for p in parts if p.function_call]
    signatures = [p.thought_signature for p in parts if p.thought_signature]
    check(thoughts == THINKING, f"{where}: thoughts {thoughts!r}")
    check(text == TEXT, f"{where}: text {text!r}")
    check(len(calls) == 1 and calls[0].name == "read_file", f"{where}: calls {calls}")
    check(dict(calls[0].args) == ARGS, f"{where}: args {calls[0].args}")
    # Signatures are base64 on the wire; the SDK decodes them to bytes.
    check(signatures == [b"sig-python"], f"{where}: signatures {signatures}")


# 1. Streamed.
parts, last = [], None
for chunk in client.models.generate_content_stream(model=MODEL, contents="read src/main.rs", config=config):
    last = chunk
    for candidate in chunk.candidates or []:
        parts.extend(candidate.content.parts or [])
check_parts(parts, "stream")
check(last.candidates[0].finish_reason == types.FinishReason.STOP, "stream: finish_reason")
check_usage(last.usage_metadata, "stream")
check(last.response_id == "gemini-fake1", f"stream: response_id {last.response_id}")

# 2. Not streamed.
response = client.models.generate_content(model=MODEL, contents="read src/main.rs", config=config)
check_parts(response.candidates[0].content.parts, "complete")
check(response.function_calls[0].name == "read_file", "complete: function_calls")
check_usage(response.usage_metadata, "complete")

# 3. The error body.
try:
    client.models.generate_content(model=MODEL, contents="hi")
    raise AssertionError("429: no error raised")
except errors.ClientError as e:
    check(e.code == 429, f"429: code {e.code}")
    check(e.status == "RESOURCE_EXHAUSTED", f"429: status {e.status}")
    delays = [d.get("retryDelay") for d in (e.details or {}).get("error", {}).get("details", [])]
    check("3s" in delays, f"429: retry delay {e.details}")

# 4. The Files API: the SDK's resumable upload, then the state until ACTIVE.
video = b"\0\0\0\x18ftypmp42" + bytes(range(256)) * 64
with tempfile.NamedTemporaryFile(suffix=".mp4") as f:
    f.write(video)
    f.flush()
    uploaded = client.files.upload(file=f.name, config=types.UploadFileConfig(mime_type="video/mp4"))
check(uploaded.name.startswith("files/"), f"upload: name {uploaded.name}")
check(uploaded.state == types.FileState.PROCESSING, f"upload: state {uploaded.state}")
check(uploaded.size_bytes == len(video), f"upload: size {uploaded.size_bytes}")
state = client.files.get(name=uploaded.name)
check(state.state == types.FileState.ACTIVE, f"get: state {state.state}")
check(state.uri.endswith(uploaded.name), f"get: uri {state.uri}")
check(state.mime_type == "video/mp4", f"get: mime {state.mime_type}")

print("ok: google-genai parsed the stream, the answer, the error and the Files API")
