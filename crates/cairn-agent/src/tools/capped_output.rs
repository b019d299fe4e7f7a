//! Reading a command's output with a memory cap: the first bytes and the last bytes
//! are kept, the middle is read and dropped (counted), so a runaway command cannot
//! grow the process.

use tokio::io::{AsyncRead, AsyncReadExt};

/// One stream's output, cut in the middle when it was longer than the caps.
#[derive(Debug, Default)]
pub(super) struct CappedOutput {
    head: Vec<u8>,
    tail: Vec<u8>,
    dropped: u64,
    head_cap: usize,
    tail_cap: usize,
}

impl CappedOutput {
    pub(super) fn new(head_cap: usize, tail_cap: usize) -> Self {
        CappedOutput {
            head_cap,
            tail_cap,
            ..CappedOutput::default()
        }
    }

    pub(super) fn push(&mut self, mut bytes: &[u8]) {
        let room = self.head_cap.saturating_sub(self.head.len());
        if room > 0 {
            let taken = room.min(bytes.len());
            self.head.extend_from_slice(&bytes[..taken]);
            bytes = &bytes[taken..];
        }
        if bytes.is_empty() {
            return;
        }
        self.tail.extend_from_slice(bytes);
        // Trim only when twice the cap is reached, so the copying stays linear.
        if self.tail.len() > self.tail_cap.saturating_mul(2).max(1) {
            let excess = self.tail.len() - self.tail_cap;
            self.tail.drain(..excess);
            self.dropped += excess as u64;
        }
    }

    /// Read `reader` to its end through the caps.
    pub(super) async fn read_all(
        mut self,
        reader: Option<impl AsyncRead + Unpin>,
    ) -> std::io::Result<Self> {
        let Some(mut reader) = reader else {
            return Ok(self);
        };
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = reader.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            self.push(&buf[..n]);
        }
        if self.tail.len() > self.tail_cap {
            let excess = self.tail.len() - self.tail_cap;
            self.tail.drain(..excess);
            self.dropped += excess as u64;
        }
        Ok(self)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.head.is_empty() && self.tail.is_empty()
    }

    /// The kept text, with a note where `dropped` bytes of `label` were left out.
    pub(super) fn render(&self, label: &str) -> String {
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        if self.dropped > 0 {
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&format!(
                "[cairn: {} bytes of {label} dropped here; only the first {} and the last \
                 {} bytes are kept]\n",
                self.dropped,
                self.head.len(),
                self.tail.len()
            ));
        }
        text.push_str(&String::from_utf8_lossy(&self.tail));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_head_and_tail_and_counts_the_middle() {
        let mut out = CappedOutput::new(4, 3);
        for chunk in [&b"abcdef"[..], b"ghij", b"klmnop"] {
            out.push(chunk);
        }
        assert_eq!(out.head, b"abcd");
        let out = futures::executor::block_on(out.read_all(Some(&b"qrstuvwxyz"[..]))).unwrap();
        assert_eq!(out.tail, b"xyz");
        assert_eq!(out.dropped, 26 - 4 - 3);
        assert_eq!(
            out.render("stdout"),
            "abcd\n[cairn: 19 bytes of stdout dropped here; only the first 4 and the last 3 \
             bytes are kept]\nxyz"
        );
        let mut short = CappedOutput::new(4, 3);
        short.push(b"abcdef");
        assert_eq!(short.render("stdout"), "abcdef");
    }
}
