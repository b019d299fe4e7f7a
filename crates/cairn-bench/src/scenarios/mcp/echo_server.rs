//! `cairn-bench __mcp-echo`: a stdio JSON-RPC "server" that does nothing but
//! answer. Every request gets its own `params` back as the result at once;
//! notifications get nothing. Timing a client against it gives what the client
//! and the pipes cost by themselves, which the scenario shows beside the
//! servers' figures (and subtracts for the server-side ratio).

use std::io::{self, BufRead, Write};

use serde_json::{Value, json};

pub(crate) fn serve() -> io::Result<()> {
    let stdin = io::stdin().lock();
    let mut stdout = io::BufWriter::new(io::stdout().lock());
    for line in stdin.lines() {
        let line = line?;
        let Ok(Value::Object(mut message)) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let Some(id) = message.remove("id") else {
            continue;
        };
        let result = message.remove("params").unwrap_or_else(|| json!({}));
        serde_json::to_writer(
            &mut stdout,
            &json!({ "jsonrpc": "2.0", "id": id, "result": result }),
        )?;
        stdout.write_all(b"\n")?;
        stdout.flush()?;
    }
    Ok(())
}
