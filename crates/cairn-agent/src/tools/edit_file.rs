//! `edit_file`: replace an exact string, refusing ambiguous edits.

use schemars::JsonSchema;
use serde::Deserialize;

use std::io::{Read, Seek, Write};

use super::confine::Root;
use super::write_at::{self, Open};

/// `edit_file`'s arguments; the tool's schema is derived from them.
#[derive(Deserialize, JsonSchema)]
pub(super) struct Args {
    /// file path relative to the project root
    path: String,
    /// the exact text to replace, whitespace included
    old_string: String,
    /// the text to put in its place
    new_string: String,
    /// replace every occurrence instead of exactly one (default false)
    #[serde(default)]
    replace_all: bool,
}

pub(super) fn run(root: &Root, args: Args) -> Result<String, String> {
    if args.old_string.is_empty() {
        return Err("old_string is empty; use write_file to create a file".into());
    }
    if args.old_string == args.new_string {
        return Err("old_string and new_string are the same; nothing to change".into());
    }
    let mut opened = write_at::open(root, &args.path, Open::Existing)?;
    let mut text = String::new();
    opened
        .file
        .read_to_string(&mut text)
        .map_err(|e| format!("{}: {e}", args.path))?;
    let count = text.matches(&args.old_string).count();
    match count {
        0 => {
            return Err(format!(
                "{}: old_string not found (it must match exactly, whitespace included)",
                args.path
            ));
        }
        1 => {}
        n if !args.replace_all => {
            return Err(format!(
                "{}: old_string occurs {n} times; include more surrounding text to make it \
                 unique, or set replace_all",
                args.path
            ));
        }
        _ => {}
    }
    let updated = if args.replace_all {
        text.replace(&args.old_string, &args.new_string)
    } else {
        text.replacen(&args.old_string, &args.new_string, 1)
    };
    // Written through the handle that was read, so the file edited is the file checked.
    let file = &mut opened.file;
    file.rewind()
        .and_then(|()| file.set_len(0))
        .and_then(|()| file.write_all(updated.as_bytes()))
        .map_err(|e| format!("{}: {e}", args.path))?;
    Ok(format!(
        "edited {}: {count} replacement{}",
        opened.shown,
        if count == 1 { "" } else { "s" }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_unique_replacement() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("a.rs");
        std::fs::write(&file, "let x = 1;\nlet y = 1;\n").unwrap();
        let root = Root::new(tmp.path()).unwrap();
        let edit = |old: &str, new: &str, all: bool| {
            run(
                &root,
                Args {
                    path: "a.rs".into(),
                    old_string: old.into(),
                    new_string: new.into(),
                    replace_all: all,
                },
            )
        };
        assert!(
            edit("= 1;", "= 2;", false)
                .unwrap_err()
                .contains("occurs 2 times")
        );
        assert!(edit("let z", "q", false).unwrap_err().contains("not found"));
        assert_eq!(
            edit("let x = 1;", "let x = 5;", false).unwrap(),
            "edited a.rs: 1 replacement"
        );
        assert_eq!(
            edit("= ", "== ", true).unwrap(),
            "edited a.rs: 2 replacements"
        );
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "let x == 5;\nlet y == 1;\n"
        );
    }
}
