//! `read_file`: a text file of the project, whole or a range of lines.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};

use schemars::JsonSchema;
use serde::Deserialize;

use super::confine::Root;
use super::looks_binary;

/// Files larger than this are not read whole: the model is asked for a range. A range
/// returns at most this much text too (one line may be huge).
const MAX_WHOLE_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// Whether a file is binary is decided from this much of its start.
const SNIFF_BYTES: usize = 8192;

/// `read_file`'s arguments; the tool's schema is derived from them.
#[derive(Deserialize, JsonSchema)]
pub(super) struct Args {
    /// file path relative to the project root
    path: String,
    /// first line to read (1-based)
    #[schemars(range(min = 1))]
    start_line: Option<u64>,
    /// last line to read (inclusive)
    #[schemars(range(min = 1))]
    end_line: Option<u64>,
}

pub(super) fn run(root: &Root, args: Args) -> Result<String, String> {
    let path = root.existing(&args.path)?;
    let file = open_regular(&path, &args.path)?;
    let len = file
        .metadata()
        .map_err(|e| format!("{}: {e}", args.path))?
        .len();
    let ranged = args.start_line.is_some() || args.end_line.is_some();
    if !ranged && len > MAX_WHOLE_FILE_BYTES {
        return Err(format!(
            "{}: {len} bytes is too large to read whole; give start_line and end_line",
            args.path
        ));
    }
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let start = reader
        .fill_buf()
        .map_err(|e| format!("{}: {e}", args.path))?;
    if looks_binary(&start[..start.len().min(SNIFF_BYTES)]) {
        return Err(format!("{}: binary file, not shown", args.path));
    }
    if !ranged {
        let mut bytes = Vec::new();
        reader
            .take(MAX_WHOLE_FILE_BYTES)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{}: {e}", args.path))?;
        return Ok(String::from_utf8_lossy(&bytes).into_owned());
    }
    read_range(reader, &args)
}

/// Open `path` only when it is a regular file: a FIFO would block the turn until a
/// writer came, a device could stream forever. Checked before opening, opened without
/// blocking, and checked again on the handle (the path may have changed in between).
fn open_regular(path: &std::path::Path, raw: &str) -> Result<File, String> {
    let not_regular = |kind: std::fs::FileType| {
        let what = if kind.is_dir() {
            "is a directory (use list_files)"
        } else if kind.is_fifo() {
            "is a FIFO (named pipe), not a regular file"
        } else if kind.is_socket() {
            "is a socket, not a regular file"
        } else if kind.is_char_device() || kind.is_block_device() {
            "is a device, not a regular file"
        } else {
            "is not a regular file"
        };
        format!("{raw}: {what}")
    };
    let kind = std::fs::metadata(path)
        .map_err(|e| format!("{raw}: {e}"))?
        .file_type();
    if !kind.is_file() {
        return Err(not_regular(kind));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| format!("{raw}: {e}"))?;
    let kind = file
        .metadata()
        .map_err(|e| format!("{raw}: {e}"))?
        .file_type();
    if !kind.is_file() {
        return Err(not_regular(kind));
    }
    Ok(file)
}

/// Lines `start_line..=end_line`, streamed: only the lines shown are kept (at most
/// [`MAX_WHOLE_FILE_BYTES`] of them), the rest of the file is only counted.
fn read_range(mut reader: BufReader<File>, args: &Args) -> Result<String, String> {
    let start = args.start_line.unwrap_or(1).max(1);
    let wanted_end = args.end_line.unwrap_or(u64::MAX);
    let io = |e: std::io::Error| format!("{}: {e}", args.path);
    let mut shown = String::new();
    let mut cut = false;
    let mut total = 0u64;
    let mut line = Vec::with_capacity(256);
    // Lines up to the end of the range are read whole (bounded); past it, counted.
    while total < wanted_end {
        line.clear();
        let limit = MAX_WHOLE_FILE_BYTES + 1;
        let n = (&mut reader)
            .take(limit)
            .read_until(b'\n', &mut line)
            .map_err(io)?;
        if n == 0 {
            break;
        }
        let too_long = !line.ends_with(b"\n") && n as u64 == limit;
        if too_long {
            // A line longer than the cap: drop the rest of it without keeping it.
            skip_line(&mut reader).map_err(io)?;
        }
        total += 1;
        if total >= start && too_long {
            cut = true;
        }
        if total >= start && !cut {
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches('\n').trim_end_matches('\r');
            if (shown.len() + text.len()) as u64 > MAX_WHOLE_FILE_BYTES {
                cut = true;
            } else {
                shown.push_str(text);
                shown.push('\n');
            }
        }
    }
    let mut unfinished_line = false;
    loop {
        let buf = reader.fill_buf().map_err(io)?;
        if buf.is_empty() {
            break;
        }
        total += memchr::memchr_iter(b'\n', buf).count() as u64;
        unfinished_line = buf.last() != Some(&b'\n');
        let n = buf.len();
        reader.consume(n);
    }
    if unfinished_line {
        // The file's last line has no newline: still a line.
        total += 1;
    }
    let end = wanted_end.min(total);
    if start > end || start > total.max(1) {
        return Err(format!(
            "{}: lines {start}..{} are outside the file ({total} lines)",
            args.path,
            args.end_line.unwrap_or(total)
        ));
    }
    let mut out = format!("[{} lines {start}-{end} of {total}]\n", args.path);
    out.push_str(&shown);
    if cut {
        out.push_str(&format!(
            "[cairn: output cut at {MAX_WHOLE_FILE_BYTES} bytes; ask for fewer lines]\n"
        ));
    }
    Ok(out)
}

/// Read past the rest of the current line without keeping it.
fn skip_line(reader: &mut BufReader<File>) -> std::io::Result<()> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        if let Some(i) = memchr::memchr(b'\n', buf) {
            reader.consume(i + 1);
            return Ok(());
        }
        let n = buf.len();
        reader.consume(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_file_and_ranges() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("a.txt"), "one\ntwo\nthree\n").unwrap();
        std::fs::write(tmp.path().join("b.bin"), [1u8, 0, 2]).unwrap();
        let root = Root::new(tmp.path()).unwrap();
        let args = |path: &str, s: Option<u64>, e: Option<u64>| Args {
            path: path.into(),
            start_line: s,
            end_line: e,
        };
        assert_eq!(
            run(&root, args("a.txt", None, None)).unwrap(),
            "one\ntwo\nthree\n"
        );
        assert_eq!(
            run(&root, args("a.txt", Some(2), Some(3))).unwrap(),
            "[a.txt lines 2-3 of 3]\ntwo\nthree\n"
        );
        assert!(
            run(&root, args("a.txt", Some(9), None))
                .unwrap_err()
                .contains("outside the file")
        );
        assert!(
            run(&root, args("b.bin", None, None))
                .unwrap_err()
                .contains("binary")
        );
        std::fs::write(tmp.path().join("c.txt"), "a\r\nb\nc").unwrap();
        for (s, e, want) in [
            (Some(1), Some(1), "[c.txt lines 1-1 of 3]\na\n"),
            (Some(3), None, "[c.txt lines 3-3 of 3]\nc\n"),
            (None, Some(2), "[c.txt lines 1-2 of 3]\na\nb\n"),
            (Some(2), Some(99), "[c.txt lines 2-3 of 3]\nb\nc\n"),
        ] {
            assert_eq!(run(&root, args("c.txt", s, e)).unwrap(), want);
        }
        std::fs::write(tmp.path().join("empty.txt"), "").unwrap();
        assert_eq!(run(&root, args("empty.txt", None, None)).unwrap(), "");
        assert!(
            run(&root, args("empty.txt", Some(1), Some(1)))
                .unwrap_err()
                .contains("outside the file (0 lines)")
        );
        assert!(
            run(&root, args("nope", None, None))
                .unwrap_err()
                .contains("no such file")
        );
    }
}
