//! `cairn mcp --http` for tests that speak raw HTTP/1.1 to it: start the real
//! binary, learn its port from the listening line, and send one request per
//! connection with exactly the bytes a test chooses.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::home::TestHome;

/// A running `cairn mcp --http`, killed when dropped.
pub struct McpHttpServer {
    child: Child,
    pub addr: SocketAddr,
    /// The bearer token clients send, if any.
    pub token: Option<String>,
    /// Every stderr line so far.
    pub stderr: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for McpHttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl McpHttpServer {
    /// Starts `BIN mcp --http ADDR EXTRA…` in `home`, with `CAIRN_TOKEN=token`
    /// when given, and waits (30 s at most) for its listening line.
    pub fn start(
        bin: &str,
        home: &TestHome,
        addr: &str,
        token: Option<&str>,
        extra: &[&str],
    ) -> McpHttpServer {
        let mut command = Command::new(bin);
        command
            .args(["mcp", "--http", addr])
            .args(extra)
            .current_dir(&home.project)
            .env("CAIRN_HOME", &home.cairn_home)
            .env("HOME", &home.user_home)
            .env("CAIRN_LOG", "warn")
            .envs(home.store_env())
            .env_remove("CAIRN_TOKEN")
            .env_remove("CAIRN_INSTANCE")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(token) = token {
            command.env("CAIRN_TOKEN", token);
        }
        let mut child = command.spawn().expect("start cairn mcp --http");
        let stderr = child.stderr.take().expect("piped stderr");
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let kept = std::sync::Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("listening on http://") {
                    let rest = &line[at + "listening on http://".len()..];
                    let addr = rest.split('/').next().unwrap_or("").to_owned();
                    let _ = tx.send(addr);
                }
                kept.lock().expect("stderr lines").push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!(
                    "cairn mcp --http did not start: {:?}",
                    lines.lock().expect("stderr lines")
                )
            });
        McpHttpServer {
            child,
            addr: addr
                .parse()
                .expect("a socket address in the listening line"),
            token: token.map(str::to_owned),
            stderr: lines,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Host` and, when a token is set, `Authorization` headers.
    pub fn headers(&self) -> Vec<(String, String)> {
        let mut headers = vec![("Host".to_owned(), self.addr.to_string())];
        if let Some(token) = &self.token {
            headers.push(("Authorization".to_owned(), format!("Bearer {token}")));
        }
        headers
    }

    /// POST `body` to /mcp with the default headers plus `extra`.
    pub fn post(&self, body: &str, extra: &[(&str, &str)]) -> HttpReply {
        let mut headers = self.headers();
        for (name, value) in extra {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            headers.push(((*name).to_owned(), (*value).to_owned()));
        }
        post(self.addr, &headers, body)
    }

    /// `initialize` as client `name` (legacy handshake).
    pub fn initialize(&self, name: &str) -> HttpReply {
        self.post(&initialize_body(name), &[])
    }
}

pub fn initialize_body(name: &str) -> String {
    serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": { "name": name, "version": "1.0" }
        }
    })
    .to_string()
}

/// One HTTP response.
#[derive(Debug)]
pub struct HttpReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The JSON-RPC message of the body: plain JSON, or the last `data:` line
    /// of an SSE stream.
    pub fn json(&self) -> Value {
        if let Ok(value) = serde_json::from_str(&self.body) {
            return value;
        }
        self.body
            .lines()
            .rev()
            .filter_map(|l| l.strip_prefix("data:"))
            .find_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .unwrap_or_else(|| panic!("no JSON in the reply: {self:?}"))
    }
}

/// POST /mcp on a fresh connection (`Connection: close`) and read the whole
/// reply (30 s at most).
pub fn post(addr: SocketAddr, headers: &[(String, String)], body: &str) -> HttpReply {
    let mut stream = TcpStream::connect(addr).expect("connect to cairn mcp");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    let mut request = String::from("POST /mcp HTTP/1.1\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Content-Type: application/json\r\n");
    request.push_str("Accept: application/json, text/event-stream\r\n");
    request.push_str("Connection: close\r\n");
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream
        .write_all(request.as_bytes())
        .expect("send the request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the reply");
    parse_reply(&raw)
}

pub(crate) fn parse_reply(raw: &[u8]) -> HttpReply {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {text:?}"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    HttpReply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}
