//! `read_file`: a text file of the project, whole or a range of lines.

use serde::Deserialize;

use super::confine::Root;
use super::looks_binary;

/// Files larger than this are not read whole: the model is asked for a range.
const MAX_WHOLE_FILE_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Deserialize)]
pub(super) struct Args {
    path: String,
    start_line: Option<u64>,
    end_line: Option<u64>,
}

pub(super) fn run(root: &Root, args: Args) -> Result<String, String> {
    let path = root.existing(&args.path)?;
    let meta = std::fs::metadata(&path).map_err(|e| format!("{}: {e}", args.path))?;
    if meta.is_dir() {
        return Err(format!("{}: is a directory (use list_files)", args.path));
    }
    let ranged = args.start_line.is_some() || args.end_line.is_some();
    if !ranged && meta.len() > MAX_WHOLE_FILE_BYTES {
        return Err(format!(
            "{}: {} bytes is too large to read whole; give start_line and end_line",
            args.path,
            meta.len()
        ));
    }
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", args.path))?;
    if looks_binary(&bytes) {
        return Err(format!("{}: binary file, not shown", args.path));
    }
    let text = String::from_utf8_lossy(&bytes);
    let total = text.lines().count() as u64;
    let start = args.start_line.unwrap_or(1).max(1);
    let end = args.end_line.unwrap_or(total).min(total);
    if ranged && (start > end || start > total.max(1)) {
        return Err(format!(
            "{}: lines {start}..{} are outside the file ({total} lines)",
            args.path,
            args.end_line.unwrap_or(total)
        ));
    }
    if !ranged {
        return Ok(text.into_owned());
    }
    let mut out = format!("[{} lines {start}-{end} of {total}]\n", args.path);
    for line in text
        .lines()
        .skip((start - 1) as usize)
        .take((end + 1 - start) as usize)
    {
        out.push_str(line);
        out.push('\n');
    }
    Ok(out)
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
        assert!(
            run(&root, args("nope", None, None))
                .unwrap_err()
                .contains("no such file")
        );
    }
}
