"""A small JSON-RPC client for MCP over stdio, standard library only: the same
workload as the harness's Rust client (cairn-bench `mcp`), from Python.

    python mcp_stdio.py --server cairn|peer|echo --ops N -- PROGRAM [ARGS...]

Starts PROGRAM (in this process's environment and working directory), runs the
handshake, then N pings, N saves and N latest reads, one request at a time, and
prints one JSON object: for each series its total seconds, the latency of every
call in microseconds and the CPU seconds the server spent. `echo` is a server that answers every request at once
(cairn-bench's own): what the client and the pipes cost by themselves.
"""

import argparse
import json
import os
import subprocess
import sys
import time

SUMMARY = (
    "Round {i}: refresh tokens now rotate on every use and the middleware checks expiry "
    "before each handler; the old session cookie path is gone. Tests for the happy path pass."
)
FILES = ["src/auth/refresh.rs", "src/auth/middleware.rs", "tests/auth.rs"]
NEXT = ["store the signing keys", "write the expiry tests"]


class Client:
    def __init__(self, command):
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self.next_id = 0

    def send(self, message):
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        self.proc.stdin.flush()

    def request(self, method, params):
        self.next_id += 1
        request_id = self.next_id
        self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        while True:
            line = self.proc.stdout.readline()
            if not line:
                sys.exit(f"the server closed stdout while {method} was pending")
            message = json.loads(line)
            if message.get("id") == request_id:
                if "error" in message:
                    sys.exit(f"{method} failed: {message['error']}")
                return message["result"]

    def call(self, tool, arguments):
        result = self.request("tools/call", {"name": tool, "arguments": arguments})
        if result.get("isError") is True:
            sys.exit(f"{tool} returned an error: {result}")
        return result

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def cpu_seconds(pid):
    """User + system CPU time of a process, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(client, n, op):
    latencies = []
    cpu = cpu_seconds(client.proc.pid)
    start = time.perf_counter_ns()
    for i in range(n):
        t = time.perf_counter_ns()
        op(i)
        latencies.append((time.perf_counter_ns() - t) // 1000)
    return {
        "seconds": (time.perf_counter_ns() - start) / 1e9,
        "latencies_us": latencies,
        "server_cpu_seconds": cpu_seconds(client.proc.pid) - cpu,
    }


def cairn_ops(client, n, check):
    def save(i):
        client.call(
            "save_progress",
            {
                "session_id": "bench-auth",
                "summary": SUMMARY.format(i=i),
                "files_touched": FILES,
                "next_steps": NEXT,
            },
        )

    def read(_):
        result = client.call("get_progress", {"session_id": "bench-auth"})
        if check and result["structuredContent"]["checkpoints"][0]["round_id"] != str(n):
            sys.exit(f"get_progress did not return the newest round {n}: {result}")

    return save, read


def peer_ops(client, n, check):
    client.call("context_session_start", {"name": "bench-auth"})

    def save(i):
        value = (
            SUMMARY.format(i=i)
            + "\nfiles: " + ", ".join(FILES)
            + "\nnext: " + "; ".join(NEXT)
        )
        client.call(
            "context_save",
            {"key": f"bench-auth-{i:05}", "value": value, "category": "progress"},
        )

    newest = f"bench-auth-{max(n - 1, 0):05}"

    def read(_):
        # Its timestamps have one-second resolution: the newest item is the
        # greatest zero-padded key.
        result = client.call(
            "context_get", {"category": "progress", "sort": "key_desc", "limit": 1}
        )
        if check and newest not in json.dumps(result):
            sys.exit(f"context_get did not return the newest item {newest}: {result}")

    return save, read


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", choices=["cairn", "peer", "echo"], required=True)
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()
    client = Client(args.command)
    client.request(
        "initialize",
        {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "cairn-bench-python", "version": "1"},
        },
    )
    client.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    # The echo server answers the same requests as cairn gets: the client's
    # encoding of them is part of what it costs.
    ops = peer_ops if args.server == "peer" else cairn_ops
    save, read = ops(client, args.ops, check=args.server != "echo")
    pings = timed(client, args.ops, lambda _: client.request("ping", {}))
    saves = timed(client, args.ops, save)
    reads = timed(client, args.ops, read)
    client.close()
    json.dump({"pings": pings, "saves": saves, "reads": reads}, sys.stdout)


if __name__ == "__main__":
    main()
