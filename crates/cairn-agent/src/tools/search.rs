//! `search`: a regular expression over the project's text files, honouring .gitignore.

use regex::RegexBuilder;
use schemars::JsonSchema;
use serde::Deserialize;

use super::confine::Root;
use super::list_files::{glob, walker};
use super::looks_binary;

const MAX_MATCHES: usize = 500;
/// Matching lines are cut to this many characters.
const MAX_LINE_CHARS: usize = 300;
/// Larger files are skipped (generated or data files).
const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// `search`'s arguments; the tool's schema is derived from them.
#[derive(Deserialize, JsonSchema)]
pub(super) struct Args {
    /// regular expression
    pattern: String,
    /// directory or file to search (default .)
    path: Option<String>,
    /// only files matching this glob, e.g. *.rs
    glob: Option<String>,
    /// match letters in either case (default false)
    #[serde(default)]
    case_insensitive: bool,
}

pub(super) fn run(root: &Root, args: Args) -> Result<String, String> {
    let regex = RegexBuilder::new(&args.pattern)
        .case_insensitive(args.case_insensitive)
        .size_limit(10 * 1024 * 1024)
        .build()
        .map_err(|e| format!("invalid regular expression {:?}: {e}", args.pattern))?;
    let base = root.existing(args.path.as_deref().unwrap_or("."))?;
    let filter = args.glob.as_deref().map(glob).transpose()?;
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    for entry in walker(&base).build() {
        let Ok(entry) = entry else { continue };
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let rel = entry.path().strip_prefix(&base).unwrap_or(entry.path());
        if filter.as_ref().is_some_and(|g| {
            !g.is_match(rel) && !g.is_match(entry.path().file_name().unwrap_or_default())
        }) {
            continue;
        }
        if entry.metadata().is_ok_and(|m| m.len() > MAX_FILE_BYTES) {
            continue;
        }
        files.push(entry.into_path());
    }
    files.sort();
    let mut out = String::new();
    let mut matches = 0usize;
    let mut more = 0usize;
    for file in files {
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        if looks_binary(&bytes) {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        for (number, line) in text.lines().enumerate() {
            if !regex.is_match(line) {
                continue;
            }
            if matches >= MAX_MATCHES {
                more += 1;
                continue;
            }
            matches += 1;
            let shown: String = line.chars().take(MAX_LINE_CHARS).collect();
            let cut = if shown.len() < line.len() { "…" } else { "" };
            out.push_str(&format!(
                "{}:{}: {shown}{cut}\n",
                root.relative(&file),
                number + 1
            ));
        }
    }
    if matches == 0 {
        return Ok(format!("no matches for {:?}", args.pattern));
    }
    if more > 0 {
        out.push_str(&format!(
            "[{more} more matches not shown; narrow the search]\n"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_lines_and_skips_ignored_and_binary_files() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path();
        std::fs::create_dir_all(p.join("src")).unwrap();
        std::fs::write(p.join(".gitignore"), "ignored.txt\n").unwrap();
        std::fs::write(p.join("src/lib.rs"), "fn alpha() {}\nfn beta() {}\n").unwrap();
        std::fs::write(p.join("ignored.txt"), "fn alpha\n").unwrap();
        std::fs::write(p.join("blob.bin"), b"fn alpha\0").unwrap();
        let root = Root::new(p).unwrap();
        let args = |pattern: &str, glob: Option<&str>, ci: bool| Args {
            pattern: pattern.into(),
            path: None,
            glob: glob.map(Into::into),
            case_insensitive: ci,
        };
        assert_eq!(
            run(&root, args(r"fn a\w+", None, false)).unwrap(),
            "src/lib.rs:1: fn alpha() {}\n"
        );
        assert_eq!(
            run(&root, args("BETA", Some("*.rs"), true)).unwrap(),
            "src/lib.rs:2: fn beta() {}\n"
        );
        assert!(
            run(&root, args("BETA", None, false))
                .unwrap()
                .starts_with("no matches")
        );
        assert!(
            run(&root, args("(", None, false))
                .unwrap_err()
                .contains("invalid regular expression")
        );
    }
}
