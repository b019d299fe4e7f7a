//! `write_file`: create or replace a file of the project.

use serde::Deserialize;

use super::confine::Root;

#[derive(Deserialize)]
pub(super) struct Args {
    path: String,
    content: String,
}

pub(super) fn run(root: &Root, args: Args) -> Result<String, String> {
    let path = root.writable(&args.path)?;
    let existed = path.exists();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", args.path))?;
    }
    std::fs::write(&path, args.content.as_bytes()).map_err(|e| format!("{}: {e}", args.path))?;
    Ok(format!(
        "{} {} ({} bytes, {} lines)",
        if existed { "replaced" } else { "created" },
        root.relative(&path),
        args.content.len(),
        args.content.lines().count()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_with_parents_and_replaces() {
        let tmp = tempfile::tempdir().unwrap();
        let root = Root::new(tmp.path()).unwrap();
        let out = run(
            &root,
            Args {
                path: "a/b/c.txt".into(),
                content: "x\ny\n".into(),
            },
        )
        .unwrap();
        assert_eq!(out, "created a/b/c.txt (4 bytes, 2 lines)");
        let out = run(
            &root,
            Args {
                path: "a/b/c.txt".into(),
                content: "z".into(),
            },
        )
        .unwrap();
        assert!(out.starts_with("replaced"));
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("a/b/c.txt")).unwrap(),
            "z"
        );
        assert!(
            run(
                &root,
                Args {
                    path: "../x".into(),
                    content: String::new()
                }
            )
            .is_err()
        );
    }
}
