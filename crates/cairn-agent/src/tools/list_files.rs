//! `list_files`: files matching a glob, honouring .gitignore (also outside git).

use globset::{GlobBuilder, GlobMatcher};
use schemars::JsonSchema;
use serde::Deserialize;

use super::confine::Root;

/// At most this many paths are listed; the rest are counted.
const MAX_ENTRIES: usize = 2000;

/// `list_files`'s arguments; the tool's schema is derived from them.
#[derive(Deserialize, JsonSchema)]
pub(super) struct Args {
    /// glob such as **/*.rs (default **/*)
    pattern: Option<String>,
    /// directory to list, relative to the project root (default .)
    path: Option<String>,
}

pub(super) fn run(root: &Root, args: Args) -> Result<String, String> {
    let base = root.existing(args.path.as_deref().unwrap_or("."))?;
    let pattern = args.pattern.as_deref().unwrap_or("**/*");
    let matcher = glob(pattern)?;
    let mut listed = Vec::new();
    let mut more = 0usize;
    for entry in walker(&base).build() {
        let Ok(entry) = entry else { continue };
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let rel_to_base = entry.path().strip_prefix(&base).unwrap_or(entry.path());
        if !matcher.is_match(rel_to_base) {
            continue;
        }
        if listed.len() < MAX_ENTRIES {
            listed.push(root.relative(entry.path()).into_owned());
        } else {
            more += 1;
        }
    }
    listed.sort();
    if listed.is_empty() {
        return Ok(format!("no files match {pattern}"));
    }
    let mut out = listed.join("\n");
    out.push('\n');
    if more > 0 {
        out.push_str(&format!(
            "[{more} more files not listed; narrow the pattern]\n"
        ));
    }
    Ok(out)
}

/// A glob where `*` stays within a path segment and `**` crosses them; a pattern
/// without a slash also matches in any directory (`*.rs` finds `src/main.rs`).
pub(super) fn glob(pattern: &str) -> Result<GlobMatcher, String> {
    let pattern = if pattern.contains('/') {
        pattern.to_owned()
    } else {
        format!("**/{pattern}")
    };
    GlobBuilder::new(&pattern)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("invalid glob {pattern:?}: {e}"))
}

/// A directory walk that honours .gitignore, .ignore and git's excludes even when the
/// project is not a git repository, shows dot-files but never `.git` itself.
pub(super) fn walker(base: &std::path::Path) -> ignore::WalkBuilder {
    let mut builder = ignore::WalkBuilder::new(base);
    builder
        .hidden(false)
        .require_git(false)
        .follow_links(false)
        .filter_entry(|e| e.file_name() != ".git");
    builder
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_by_glob_and_honours_gitignore() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path();
        std::fs::create_dir_all(p.join("src/deep")).unwrap();
        std::fs::create_dir_all(p.join("target")).unwrap();
        std::fs::write(p.join(".gitignore"), "target/\n*.log\n").unwrap();
        std::fs::write(p.join("src/main.rs"), "").unwrap();
        std::fs::write(p.join("src/deep/x.rs"), "").unwrap();
        std::fs::write(p.join("notes.log"), "").unwrap();
        std::fs::write(p.join("target/out.rs"), "").unwrap();
        let root = Root::new(p).unwrap();
        let all = run(
            &root,
            Args {
                pattern: None,
                path: None,
            },
        )
        .unwrap();
        assert_eq!(all, ".gitignore\nsrc/deep/x.rs\nsrc/main.rs\n");
        let rs = run(
            &root,
            Args {
                pattern: Some("*.rs".into()),
                path: None,
            },
        )
        .unwrap();
        assert_eq!(rs, "src/deep/x.rs\nsrc/main.rs\n");
        let top = run(
            &root,
            Args {
                pattern: Some("src/*.rs".into()),
                path: None,
            },
        )
        .unwrap();
        assert_eq!(top, "src/main.rs\n");
        let sub = run(
            &root,
            Args {
                pattern: None,
                path: Some("src/deep".into()),
            },
        )
        .unwrap();
        assert_eq!(sub, "src/deep/x.rs\n");
        assert!(
            run(
                &root,
                Args {
                    pattern: None,
                    path: Some("../".into())
                }
            )
            .is_err()
        );
    }
}
