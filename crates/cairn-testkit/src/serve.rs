//! `cairn serve` for tests: start the real binary on `127.0.0.1:0` against the fake
//! provider, learn its port from the listening line, speak raw HTTP/1.1 to it (one
//! request per connection, exactly the bytes a test chooses) and read its event
//! streams; stopped with SIGTERM (or killed) when dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fake_llm::FakeLlm;
use crate::home::TestHome;
use crate::mcp_http::{HttpReply, parse_reply};

/// A running `cairn serve`.
pub struct ServeDaemon {
    child: Child,
    pub addr: SocketAddr,
    /// The token clients present, if the daemon has one.
    pub token: Option<String>,
    /// Every stderr line so far.
    pub stderr: Arc<Mutex<Vec<String>>>,
}

impl Drop for ServeDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The environment that makes `cairn` talk to `fake` with `openai:gpt-4.1`.
pub fn fake_env(fake: Option<&FakeLlm>) -> Vec<(String, String)> {
    let base = fake.map_or_else(|| "http://127.0.0.1:9".to_owned(), FakeLlm::openai_base_url);
    vec![
        ("OPENAI_API_KEY".into(), "test-key".into()),
        ("OPENAI_BASE_URL".into(), base),
        ("CAIRN_MODEL".into(), "openai:gpt-4.1".into()),
    ]
}

impl ServeDaemon {
    /// Starts `BIN serve --bind 127.0.0.1:0 EXTRA…` in `home` (cwd: its project),
    /// `CAIRN_TOKEN=token` when given, and waits (30 s at most) for its listening line.
    pub fn start(
        bin: &str,
        home: &TestHome,
        fake: Option<&FakeLlm>,
        token: Option<&str>,
        extra: &[&str],
    ) -> ServeDaemon {
        Self::start_with_env(bin, home, fake, token, extra, &[])
    }

    /// [`ServeDaemon::start`] with more environment variables (`CAIRN_LOG`…).
    pub fn start_with_env(
        bin: &str,
        home: &TestHome,
        fake: Option<&FakeLlm>,
        token: Option<&str>,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> ServeDaemon {
        let mut command = Command::new(bin);
        command
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(extra)
            .current_dir(&home.project)
            .env_clear()
            .env(
                "PATH",
                std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
            )
            .env("CAIRN_HOME", &home.cairn_home)
            .env("HOME", &home.user_home)
            .env("LANG", "C.UTF-8")
            .env("CAIRN_LOG", "warn,cairn_server=info")
            .envs(fake_env(fake))
            .envs(home.store_env())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(token) = token {
            command.env("CAIRN_TOKEN", token);
        }
        command.envs(env.iter().copied());
        let mut child = command.spawn().expect("start cairn serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let kept = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("listening on http://") {
                    let rest = &line[at + "listening on http://".len()..];
                    let _ = tx.send(rest.trim().to_owned());
                }
                kept.lock().expect("stderr lines").push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!(
                    "cairn serve did not start: {:?}",
                    lines.lock().expect("stderr lines")
                )
            });
        ServeDaemon {
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

    /// `ws://ADDR/acp` (with `?token=` when the daemon has a token).
    pub fn acp_url(&self) -> String {
        match &self.token {
            Some(token) => format!("ws://{}/acp?token={token}", self.addr),
            None => format!("ws://{}/acp", self.addr),
        }
    }

    /// `Host` and, with a token, `Authorization`, then `extra` (which replaces them).
    pub fn headers(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut headers = vec![("Host".to_owned(), self.addr.to_string())];
        if let Some(token) = &self.token {
            headers.push(("Authorization".to_owned(), format!("Bearer {token}")));
        }
        for (name, value) in extra {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            if !value.is_empty() {
                headers.push(((*name).to_owned(), (*value).to_owned()));
            }
        }
        headers
    }

    /// GET `path` with the default headers plus `extra` (an empty value removes one).
    pub fn get(&self, path: &str, extra: &[(&str, &str)]) -> HttpReply {
        request(self.addr, "GET", path, &self.headers(extra), None)
    }

    /// GET `path` and parse the JSON body, asserting 200.
    pub fn get_json(&self, path: &str) -> Value {
        let reply = self.get(path, &[]);
        assert_eq!(reply.status, 200, "GET {path}: {reply:?}");
        serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("GET {path}: {e}: {reply:?}"))
    }

    /// POST a JSON `body` to `path`.
    pub fn post(&self, path: &str, body: &str, extra: &[(&str, &str)]) -> HttpReply {
        request(self.addr, "POST", path, &self.headers(extra), Some(body))
    }

    /// Open an SSE stream at `path`; read it with [`EventStream::next_event`].
    pub fn stream(&self, path: &str) -> EventStream {
        EventStream::open(self.addr, path, &self.headers(&[]))
    }

    /// SIGTERM, then wait (`within`) for the process to exit; its exit status.
    pub fn terminate(&mut self, within: Duration) -> std::process::ExitStatus {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid");
        // SAFETY: signals the child this value owns.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for cairn serve") {
                return status;
            }
            assert!(
                started.elapsed() < within,
                "cairn serve did not stop within {within:?}: {:?}",
                self.stderr.lock().expect("stderr lines")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// One request on a fresh connection (`Connection: close`); the whole reply (60 s at
/// most).
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Option<&str>,
) -> HttpReply {
    let mut stream = TcpStream::connect(addr).expect("connect to cairn serve");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("read timeout");
    let mut text = format!("{method} {path} HTTP/1.1\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("Connection: close\r\n");
    match body {
        Some(body) => {
            text.push_str("Content-Type: application/json\r\n");
            text.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        }
        None => text.push_str("\r\n"),
    }
    // Written from another thread: a server that answers before reading the whole
    // body (413) and closes must not fail the test with a broken pipe.
    let mut writer = stream.try_clone().expect("clone the socket");
    let sending = std::thread::spawn(move || {
        let _ = writer.write_all(text.as_bytes());
    });
    let mut raw = Vec::new();
    if let Err(e) = stream.read_to_end(&mut raw)
        && raw.is_empty()
    {
        panic!("read the reply of {method} {path}: {e}");
    }
    let _ = sending.join();
    parse_reply(&raw)
}

/// A Server-Sent Events stream read line by line.
pub struct EventStream {
    reader: BufReader<TcpStream>,
    pub status: u16,
    chunk_left: usize,
    pending: String,
}

/// One SSE message.
#[derive(Debug, Clone)]
pub struct SseMessage {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
}

impl EventStream {
    pub fn open(addr: SocketAddr, path: &str, headers: &[(String, String)]) -> EventStream {
        let mut stream = TcpStream::connect(addr).expect("connect to cairn serve");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("read timeout");
        let mut text = format!("GET {path} HTTP/1.1\r\nAccept: text/event-stream\r\n");
        for (name, value) in headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str("\r\n");
        stream.write_all(text.as_bytes()).expect("send the request");
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        reader.read_line(&mut status_line).expect("status line");
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("a header line");
            if line.trim().is_empty() {
                break;
            }
        }
        EventStream {
            reader,
            status,
            chunk_left: 0,
            pending: String::new(),
        }
    }

    /// The body's next line (the body is chunked).
    fn next_line(&mut self) -> Option<String> {
        loop {
            if let Some(at) = self.pending.find('\n') {
                let line: String = self.pending.drain(..=at).collect();
                return Some(line.trim_end_matches(['\r', '\n']).to_owned());
            }
            if self.chunk_left == 0 {
                let mut size = String::new();
                if self.reader.read_line(&mut size).ok()? == 0 {
                    return None;
                }
                if size.trim().is_empty() {
                    continue;
                }
                self.chunk_left = usize::from_str_radix(size.trim(), 16).ok()?;
                if self.chunk_left == 0 {
                    return None;
                }
            }
            let mut buf = vec![0; self.chunk_left];
            self.reader.read_exact(&mut buf).ok()?;
            self.chunk_left = 0;
            self.pending.push_str(&String::from_utf8_lossy(&buf));
        }
    }

    /// The next message (keep-alive comments skipped); `None` when the stream ends
    /// or nothing comes within the read timeout.
    pub fn next_event(&mut self) -> Option<SseMessage> {
        let mut message = SseMessage {
            id: None,
            event: None,
            data: String::new(),
        };
        let mut any = false;
        loop {
            let line = self.next_line()?;
            if line.is_empty() {
                if any {
                    return Some(message);
                }
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            any = true;
            let (field, value) = line.split_once(':').unwrap_or((line.as_str(), ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "id" => message.id = Some(value.to_owned()),
                "event" => message.event = Some(value.to_owned()),
                "data" => {
                    if !message.data.is_empty() {
                        message.data.push('\n');
                    }
                    message.data.push_str(value);
                }
                _ => {}
            }
        }
    }
}
