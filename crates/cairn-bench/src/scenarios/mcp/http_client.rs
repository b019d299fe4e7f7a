//! Concurrent MCP clients over streamable HTTP against `cairn mcp --http`.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::{HttpResult, Series, checkpoint_summary, own_cpu};
use crate::process::isolated;

/// Requests each client sends before the measured ones (connections, caches).
const WARMUP_PER_CLIENT: usize = 10;
/// The bearer token the benchmark's server is started with.
const BENCH_TOKEN: &str = "cairn-bench-token";

/// `cairn mcp --http 127.0.0.1:0` in `home`, and the URL it announced.
async fn start_server(cairn: &Path, home: &Path) -> Result<(Child, String)> {
    let project = home.join("project");
    std::fs::create_dir_all(&project)?;
    let mut child = Command::from(isolated(cairn, home, &project))
        .args(["mcp", "--http", "127.0.0.1:0"])
        .env("CAIRN_TOKEN", BENCH_TOKEN)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", cairn.display()))?;
    let mut stderr = BufReader::new(child.stderr.take().context("the server's stderr")?).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = stderr.next_line().await? {
            if let Some(at) = line.find("listening on ") {
                return Ok(line[at + "listening on ".len()..].trim().to_owned());
            }
        }
        bail!("`cairn mcp --http` exited before listening")
    })
    .await
    .context("`cairn mcp --http` did not say where it listens within 30 s")??;
    // Keep draining stderr so a chatty server never blocks on it.
    tokio::spawn(async move { while let Ok(Some(_)) = stderr.next_line().await {} });
    Ok((child, url))
}

/// One MCP session over HTTP.
struct HttpSession {
    http: reqwest::Client,
    url: String,
    session: Option<String>,
    next_id: u64,
}

impl HttpSession {
    async fn open(http: reqwest::Client, url: &str) -> Result<Self> {
        let response = http
            .post(url)
            .header("accept", "application/json, text/event-stream")
            .json(&json!({
                "jsonrpc": "2.0", "id": 0, "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18", "capabilities": {},
                    "clientInfo": { "name": "cairn-bench", "version": env!("CARGO_PKG_VERSION") }
                }
            }))
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("initialize: HTTP {}", response.status());
        }
        // A stateless server answers without a session id.
        let session = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        response.bytes().await?;
        let session = HttpSession {
            http,
            url: url.to_owned(),
            session,
            next_id: 0,
        };
        session
            .post(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }))
            .await?;
        Ok(session)
    }

    async fn post(&self, body: &Value) -> Result<String> {
        let mut request = self
            .http
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
            .json(body);
        if let Some(session) = &self.session {
            request = request.header("mcp-session-id", session);
        }
        let response = request.send().await?;
        if !response.status().is_success() {
            bail!("HTTP {}", response.status());
        }
        Ok(response.text().await?)
    }

    /// A tool call; the answer comes as JSON or as a short SSE stream.
    async fn call(&mut self, tool: &str, arguments: Value) -> Result<Value> {
        self.next_id += 1;
        let text = self
            .post(&json!({
                "jsonrpc": "2.0", "id": self.next_id, "method": "tools/call",
                "params": { "name": tool, "arguments": arguments }
            }))
            .await?;
        let message =
            parse_answer(&text).with_context(|| format!("{tool}: unreadable answer {text:?}"))?;
        if message.get("error").is_some() || message["result"]["isError"] == json!(true) {
            bail!("{tool} failed: {message}");
        }
        Ok(message)
    }

    /// Request `i` of one client: saves and latest reads alternate.
    async fn request(&mut self, session_id: &str, i: usize) -> Result<bool> {
        let save = i.is_multiple_of(2);
        if save {
            self.call(
                "save_progress",
                json!({
                    "session_id": session_id, "summary": checkpoint_summary(i),
                    "files_touched": ["src/auth/refresh.rs", "tests/auth.rs"],
                    "next_steps": ["write the expiry tests"],
                }),
            )
            .await?;
        } else {
            let answer = self
                .call("get_progress", json!({ "session_id": session_id }))
                .await?;
            if answer["result"]["structuredContent"]["checkpoints"][0]["summary"]
                != json!(checkpoint_summary(i - 1))
            {
                bail!("get_progress did not return the checkpoint just saved: {answer}");
            }
        }
        Ok(save)
    }
}

/// The JSON-RPC response in an HTTP answer: a JSON body, or the `data:` line of
/// an SSE stream that carries an `id` (priming events carry none).
fn parse_answer(text: &str) -> serde_json::Result<Value> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .find(|d| d.contains("\"id\""))
        .map_or_else(|| serde_json::from_str(text), serde_json::from_str)
}

/// `clients` concurrent MCP sessions, each sending `per_client` requests back to
/// back (saves and latest reads alternating, each on its own checkpoint series).
pub(super) async fn load(
    cairn: &Path,
    home: &Path,
    clients: usize,
    per_client: usize,
) -> Result<HttpResult> {
    let (server, url) = start_server(cairn, home).await?;
    let server_pid = server.id().context("the server has exited")?;
    let mut auth = reqwest::header::HeaderMap::new();
    auth.insert(
        reqwest::header::AUTHORIZATION,
        reqwest::header::HeaderValue::from_str(&format!("Bearer {BENCH_TOKEN}"))?,
    );
    let http = reqwest::Client::builder()
        .default_headers(auth)
        .pool_max_idle_per_host(clients * 2)
        .tcp_nodelay(true)
        .build()?;
    let mut sessions = Vec::with_capacity(clients);
    for _ in 0..clients {
        sessions.push(HttpSession::open(http.clone(), &url).await?);
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(clients + 1));
    let mut tasks = Vec::with_capacity(clients);
    for (c, mut session) in sessions.into_iter().enumerate() {
        let barrier = Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            let warmup_id = format!("bench-http-warmup-{c}");
            for i in 0..WARMUP_PER_CLIENT {
                session.request(&warmup_id, i).await?;
            }
            barrier.wait().await;
            let id = format!("bench-http-{c}");
            let mut latencies = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let t = Instant::now();
                let save = session.request(&id, i).await?;
                latencies.push((save, t.elapsed()));
            }
            anyhow::Ok(latencies)
        }));
    }
    barrier.wait().await;
    let (server_cpu_before, client_cpu_before) = (process_cpu_of(server_pid)?, own_cpu());
    let start = Instant::now();
    let mut latencies = Vec::with_capacity(clients * per_client);
    for task in tasks {
        latencies.extend(task.await.context("a client task panicked")??);
    }
    let elapsed = start.elapsed();
    let server_cpu = process_cpu_of(server_pid)?.saturating_sub(server_cpu_before);
    let client_cpu = own_cpu().saturating_sub(client_cpu_before);
    drop(server);
    let of_kind = |kind: bool| -> Vec<Duration> {
        latencies
            .iter()
            .filter(|(save, _)| *save == kind)
            .map(|(_, d)| *d)
            .collect()
    };
    let all: Vec<Duration> = latencies.iter().map(|(_, d)| *d).collect();
    let requests = all.len().max(1) as f64;
    Ok(HttpResult {
        clients,
        requests: all.len(),
        all: Series::new(elapsed, &all),
        saves: Series::new(elapsed, &of_kind(true)),
        reads: Series::new(elapsed, &of_kind(false)),
        server_cpu_us_per_request: server_cpu.as_secs_f64() * 1e6 / requests,
        client_cpu_us_per_request: client_cpu.as_secs_f64() * 1e6 / requests,
    })
}

/// User + system CPU time of another process, from `/proc/PID/stat`.
pub(super) fn process_cpu_of(pid: u32) -> Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .context("reading /proc/PID/stat (Linux only)")?;
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| -> Result<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .context("unexpected /proc/PID/stat format")
    };
    // Fields 14 and 15 of stat(5) (utime, stime), counted after the `)`.
    let total = ticks(11)? + ticks(12)?;
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let per_second = u64::try_from(per_second)
        .ok()
        .filter(|t| *t > 0)
        .unwrap_or(100);
    Ok(Duration::from_secs_f64(total as f64 / per_second as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_and_sse_answers() {
        let json_body = r#"{"jsonrpc":"2.0","id":3,"result":{"isError":false}}"#;
        assert_eq!(parse_answer(json_body).unwrap()["id"], json!(3));
        let sse = "id: 0\nretry: 3000\ndata:\n\nid: 1\ndata: {\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{}}\n\n";
        assert_eq!(parse_answer(sse).unwrap()["id"], json!(4));
        assert!(parse_answer("event: ping\n\n").is_err());
    }
}
