"""The dashboard of `cairn serve` in a real browser: Debian's Chromium driven by
Playwright (no browser download), against a real `cairn serve` on a free loopback
port whose model is the testkit's fake provider.

The Rust side (crates/cairn/tests/serve/dashboard_browser.rs) imports the sessions and
checks the store; this script starts the daemon, walks the pages as a person would
and prints `CHECK <name>` per passed check, then `PASSED <n> checks`. Screenshots go
to --screenshots. Any failure raises, which exits non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx2
import mcp.types as mcp_types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from playwright.async_api import Page, async_playwright

CHROMIUM = os.environ.get("CAIRN_TEST_CHROMIUM", "/usr/bin/chromium")
TIMEOUT_MS = 20_000

_checks: list[str] = []


def check(name: str, condition: bool, detail: Any = None) -> None:
    if not condition:
        raise AssertionError(f"check failed: {name}: {detail!r}")
    _checks.append(name)
    print(f"CHECK {name}", flush=True)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--binary", required=True)
    p.add_argument("--home", required=True)
    p.add_argument("--project", required=True)
    p.add_argument("--openai-base-url", default="http://127.0.0.1:9/v1", help="the fake provider")
    p.add_argument("--screenshots", required=True)
    p.add_argument("--scenario", required=True, choices=["tour", "bench"])
    p.add_argument("--session", default="auth-refactor", help="the imported rich session")
    p.add_argument("--hostile", default="hostile", help="the session with markup in its text")
    p.add_argument("--token", default="dash-token-1234")
    p.add_argument("--runs", type=int, default=20, help="bench: measured reloads")
    p.add_argument("--warmup", type=int, default=3, help="bench: reloads not measured")
    return p.parse_args()


class Daemon:
    """`cairn serve` on 127.0.0.1:0 and the URL it printed."""

    def __init__(self, args: argparse.Namespace) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", args.home),
            "LANG": "C.UTF-8",
            "CAIRN_HOME": args.home,
            "CAIRN_LOG": "info",
            "CAIRN_TOKEN": args.token,
            "OPENAI_API_KEY": "test-key",
            "OPENAI_BASE_URL": args.openai_base_url,
            "CAIRN_MODEL": "openai:gpt-4.1",
        }
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [args.binary, "serve", "--bind", "127.0.0.1:0"],
            cwd=args.project,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        found: list[str] = []
        ready = threading.Event()

        def pump() -> None:
            assert self.process.stderr is not None
            for raw in self.process.stderr:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                self.lines.append(line)
                m = re.search(r"(https?://127\.0\.0\.1:\d+)", line)
                if m and not found:
                    found.append(m.group(1))
                    ready.set()
            ready.set()

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(timeout=30) or not found:
            self.stop()
            raise RuntimeError(f"cairn serve did not start: {self.lines}")
        self.url = found[0]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


async def pool_signal(daemon: Daemon, token: str, summary: str) -> None:
    """A `pool_signal` over the daemon's /mcp, with the official MCP SDK."""
    headers = {"Authorization": f"Bearer {token}", "Cairn-Instance": "browser-test-agent"}
    transport = streamable_http_client(
        f"{daemon.url}/mcp", http_client=httpx2.AsyncClient(headers=headers, timeout=60)
    )
    info = mcp_types.Implementation(name="browser-test-agent", version="1.0")
    async with Client(transport, mode="legacy", client_info=info, read_timeout_seconds=60) as client:
        result = await client.call_tool(
            "pool_signal",
            {"topic": "dashboard-live", "action": "signaling", "summary": summary},
        )
        if result.is_error:
            raise AssertionError(f"pool_signal failed: {result.content}")


HOSTILE_MARKDOWN = [
    "<script>window.__pwned=1</script>",
    "<img src=x onerror=window.__pwned=1>",
    "[x](javascript:window.__pwned=1)",
    "[x](JaVaScRiPt:window.__pwned=1)",
    "[x]( javascript:alert(1))",
    "[x](data:text/html,<script>alert(1)</script>)",
    "[x](vbscript:msgbox)",
    "<https://ok.example/a> and <javascript:alert(1)>",
    "**<b onmouseover=alert(1)>x</b>**",
    "`<script>`",
    "```html\n<script>alert(1)</script>\n```",
    "> <iframe src=javascript:alert(1)>",
    "- <svg onload=alert(1)>\n- [a](https://a.example \"t\")",
    "| <img src=x> | b |\n|---|---|\n| <script> | [y](javascript:1) |",
    "# <h1 onclick=alert(1)>",
    ">" * 500 + " deep",
    "- " * 300 + "deep list",
    "*" * 5000,
    "[" * 3000 + "](" * 3000,
]

MARKDOWN_PROBE = """
async (inputs) => {
  const { renderMarkdown } = await import('/assets/markdown.js');
  const allowedTags = new Set(['P','H3','H4','H5','H6','PRE','CODE','STRONG','EM','DEL','A','UL','OL','LI',
    'BLOCKQUOTE','HR','BR','TABLE','THEAD','TBODY','TR','TH','TD','DIV']);
  const allowedAttrs = new Set(['href','target','rel','start','data-lang','class']);
  const report = { tags: [], attributes: [], links: [], kept: true };
  for (const input of inputs) {
    const box = document.createElement('div');
    box.appendChild(renderMarkdown(input));
    for (const el of box.querySelectorAll('*')) {
      if (!allowedTags.has(el.tagName)) report.tags.push([input.slice(0, 40), el.tagName]);
      for (const a of el.attributes) if (!allowedAttrs.has(a.name)) report.attributes.push([input.slice(0, 40), a.name]);
      if (el.tagName === 'A' && !/^(https?|mailto):/.test(el.href)) report.links.push([input.slice(0, 40), el.href]);
    }
    if (input.includes('<script>') && !box.textContent.includes('<script>')) report.kept = false;
  }
  return report;
}
"""


async def shot(page: Page, folder: Path, name: str) -> None:
    path = folder / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    print(f"SCREENSHOT {path}", flush=True)


async def tour(args: argparse.Namespace, daemon: Daemon, page: Page, folder: Path) -> None:
    base = daemon.url

    # The token: asked once, then kept for the tab.
    await page.goto(f"{base}/")
    await page.wait_for_selector("#token-dialog[open]")
    await shot(page, folder, "01-token")
    await page.fill("#token-input", args.token)
    await page.press("#token-input", "Enter")
    await page.wait_for_selector("#sessions")
    # The rows arrive after the page: wait for both sessions' links.
    for name in (args.session, args.hostile):
        await page.locator("#sessions .session-link", has_text=name).first.wait_for(timeout=TIMEOUT_MS)
    rows = await page.locator("#sessions tbody tr").count()
    names = await page.locator("#sessions .session-link").all_inner_texts()
    check("sessions: the page lists every session", args.session in names and args.hostile in names, names)
    check("sessions: a row per session", rows >= 2, rows)
    await shot(page, folder, "02-sessions")

    # Search: the full-text box finds a message and links to it.
    await page.fill("#search", "refresh")
    await page.press("#search", "Enter")
    await page.wait_for_selector("#hits li")
    hit_text = await page.inner_text("#hits")
    check("search: a hit names the session", args.session in hit_text, hit_text)
    check("search: the match is marked", await page.locator("#hits mark").count() > 0)
    await shot(page, folder, "03-search")
    await page.locator("#hits a.session-link", has_text=args.session).first.click()

    # The session's timeline.
    await page.wait_for_selector("#timeline .event")
    await page.wait_for_function("() => document.getElementById('live-state').textContent === 'live'", timeout=TIMEOUT_MS)
    text = await page.inner_text("#timeline")
    check("session: user and assistant messages shown", "Now add refresh tokens." in text and "Fixed the permissions" in text, text[:500])
    check("session: a compaction with its summary", "JWT auth in place; refresh tokens started" in text)
    check("session: knowledge items shown", "Never log tokens" in text)
    calls = page.locator("#timeline details.tool-call")
    check("session: tool calls collapsed", await calls.count() >= 2 and not await calls.first.evaluate("d => d.open"))
    await calls.first.locator("summary").click()
    check("session: a tool call opens with its result", "fn login()" in await calls.first.inner_text())
    await page.wait_for_selector("#timeline figure.image img", timeout=TIMEOUT_MS)
    natural = await page.eval_on_selector("#timeline figure.image img", "img => img.complete && img.naturalWidth")
    check("session: the image shows inline", natural == 1, natural)
    # The chart draws once the session's events are in: wait for its third bar.
    bars = page.locator("#request-chart svg rect.bar")
    await bars.nth(2).wait_for(timeout=TIMEOUT_MS)
    check("session: a chart of the requests", await bars.count() == 3, await bars.count())
    await page.locator("#totals", has_text="$0.0275").wait_for(timeout=TIMEOUT_MS)
    totals = await page.inner_text("#totals")
    check("session: totals at the top", "openai:gpt-4.1" in totals and "$0.0275" in totals, totals)
    await shot(page, folder, "04-session")

    # A turn from the page: streamed over /acp, then stored and shown live.
    await page.fill("#message", "Hello from the browser")
    await page.click("#send")
    await page.wait_for_function(
        "() => (document.querySelector('#pending-answer .answer')?.textContent || '').includes('Streaming')",
        timeout=TIMEOUT_MS,
    )
    partial = await page.inner_text("#pending-answer")
    running = await page.inner_text("#turn-state")
    check("send: the answer streams in before the turn ends", running == "running…" and "the end." not in partial, (running, partial))
    await shot(page, folder, "05-streaming")
    await page.wait_for_function("() => document.getElementById('turn-state').textContent === 'done'", timeout=TIMEOUT_MS)
    await page.wait_for_function(
        "() => [...document.querySelectorAll('#timeline .role-assistant')].some(e => e.textContent.includes('the end.'))",
        timeout=TIMEOUT_MS,
    )
    check("send: the stored answer arrives on the stream", True)
    user_msgs = await page.locator("#timeline .role-user", has_text="Hello from the browser").count()
    check("send: the question is stored once", user_msgs == 1, user_msgs)
    await shot(page, folder, "06-answered")

    # Stop: a slow answer is cancelled from the page.
    await page.fill("#message", "Tell me a long story")
    await page.click("#send")
    await page.wait_for_function(
        "() => (document.querySelector('#pending-answer .answer')?.textContent || '').length > 0", timeout=TIMEOUT_MS
    )
    await page.click("#stop")
    await page.wait_for_function(
        "() => document.getElementById('turn-state').textContent.startsWith('stopped')", timeout=TIMEOUT_MS
    )
    check("stop: the turn ends cancelled", await page.inner_text("#turn-state") == "stopped: cancelled")
    await page.wait_for_selector("#timeline .role-assistant.interrupted", timeout=TIMEOUT_MS)
    check("stop: the partial answer is stored, marked interrupted", True)
    await shot(page, folder, "07-stopped")

    # Hostile text renders as text.
    await page.goto(f"{base}/#/session/{args.hostile}")
    await page.wait_for_selector("#timeline .event")
    text = await page.inner_text("#timeline")
    check("hostile: the markup shows as text", "<script>" in text and "onerror" in text, text[:300])
    check("hostile: no script ran", await page.evaluate("() => window.__pwned === undefined"))
    check("hostile: no element came from the text", await page.locator("#timeline script, #timeline img, #timeline iframe").count() == 0)
    links = await page.eval_on_selector_all("#timeline a[href]", "as => as.map(a => a.href)")
    check("hostile: no javascript: link", not any(h.lower().startswith("javascript") for h in links), links)
    await shot(page, folder, "08-hostile")

    # The markdown renderer on hostile input: only its own tags and attributes come out.
    report = await page.evaluate(MARKDOWN_PROBE, HOSTILE_MARKDOWN)
    check("markdown: only the renderer's own tags", not report["tags"], report)
    check("markdown: only safe attributes", not report["attributes"], report)
    check("markdown: links are http, https or mailto", not report["links"], report)
    check("markdown: the text survives as text", report["kept"], report)

    # Pool: a signal over /mcp appears without a reload.
    await page.goto(f"{base}/#/pool")
    await page.wait_for_selector("#pool-messages")
    await page.evaluate("() => { window.__sameDocument = true; }")
    await pool_signal(daemon, args.token, "the dashboard sees this")
    await page.wait_for_function(
        "() => document.getElementById('pool-messages').textContent.includes('the dashboard sees this')", timeout=TIMEOUT_MS
    )
    check("pool: the signal appears without a reload", await page.evaluate("() => window.__sameDocument === true"))
    instances = await page.inner_text("#pool-instances")
    check("pool: the signalling agent is listed", "browser-test-agent" in instances, instances)
    await shot(page, folder, "09-pool")

    # Progress and usage render.
    await page.goto(f"{base}/#/progress")
    await page.wait_for_selector("#progress > *:not(.muted), #progress .muted")
    await shot(page, folder, "10-progress")
    await page.goto(f"{base}/#/usage?by=model")
    await page.wait_for_selector("#usage-table")
    usage = await page.inner_text("#usage-table")
    check("usage: tokens and cost per model", "openai:gpt-4.1" in usage, usage)
    await shot(page, folder, "11-usage")
    await page.goto(f"{base}/#/usage?by=project")
    await page.locator("#usage-table td", has_text="/project").first.wait_for(timeout=TIMEOUT_MS)
    usage = await page.inner_text("#usage-table")
    check("usage: per project from the same report", "/project" in usage and "$" in usage, usage)


async def bench(args: argparse.Namespace, daemon: Daemon, page: Page, folder: Path) -> None:
    """The sessions page fully rendered: ms from the navigation's start until the first
    page of the list is in the document (the page records it), over --runs reloads."""
    await page.goto(f"{daemon.url}/")
    await page.wait_for_selector("#token-dialog[open]")
    await page.fill("#token-input", args.token)
    await page.press("#token-input", "Enter")
    await page.wait_for_selector("body[data-rendered]")
    for _ in range(args.warmup):
        await page.reload()
        await page.wait_for_selector("body[data-rendered]")
    for _ in range(args.runs):
        await page.reload()
        await page.wait_for_selector("body[data-rendered]")
        print(f"SAMPLE {await page.get_attribute('body', 'data-rendered')}", flush=True)
    rows = await page.locator("#sessions tbody tr").count()
    check("bench: the first page of the list rendered", rows > 0, rows)
    print(f"ROWS {rows}", flush=True)
    await shot(page, folder, "bench-sessions")


async def main() -> None:
    args = parse_args()
    folder = Path(args.screenshots)
    folder.mkdir(parents=True, exist_ok=True)
    daemon = Daemon(args)
    problems: list[str] = []
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                ],
            )
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(TIMEOUT_MS)
            page = await context.new_page()
            # A CSP violation or a script error is a failure, not a warning.
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on(
                "console",
                lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" and "401" not in m.text else None,
            )
            try:
                await (tour if args.scenario == "tour" else bench)(args, daemon, page, folder)
            except Exception:
                await shot(page, folder, "failure")
                raise
            await browser.close()
    finally:
        daemon.stop()
        if problems or os.environ.get("CAIRN_TEST_VERBOSE"):
            print("--- daemon stderr", *daemon.lines[-40:], sep="\n", flush=True)
    check("the page logged no error", not problems, problems)
    print(f"PASSED {len(_checks)} checks", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
