//! The `fake-llm` binary serves a script file and prints its URL.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

#[test]
fn serves_a_script_file_and_stops_when_stdin_closes() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("script.json");
    std::fs::write(
        &script,
        r#"[{"type": "reply", "parts": [{"type": "text", "text": "scripted hello"}]}]"#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-llm"))
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let addr = url.trim().strip_prefix("http://").unwrap().to_owned();

    let body = r#"{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}"#;
    let mut conn = TcpStream::connect(&addr).unwrap();
    write!(
        conn,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let json: serde_json::Value =
        serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(json["object"], "chat.completion");
    assert_eq!(json["choices"][0]["message"]["content"], "scripted hello");
    assert_eq!(json["choices"][0]["finish_reason"], "stop");

    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_bad_script_is_refused_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("bad.json");
    std::fs::write(&script, r#"[{"type": "sing"}]"#).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_fake-llm"))
        .arg(&script)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.json") && stderr.contains("sing"),
        "{stderr}"
    );
}
