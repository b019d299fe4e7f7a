//! `write_file`: create or replace a file of the project.

use schemars::JsonSchema;
use serde::Deserialize;

use std::io::Write;

use super::confine::Root;
use super::write_at::{self, Open};

/// `write_file`'s arguments; the tool's schema is derived from them.
#[derive(Deserialize, JsonSchema)]
pub(super) struct Args {
    /// file path relative to the project root
    path: String,
    /// the whole new content of the file
    content: String,
}

pub(super) fn run(root: &Root, args: Args) -> Result<String, String> {
    let mut opened = write_at::open(root, &args.path, Open::CreateOrTruncate)?;
    opened
        .file
        .write_all(args.content.as_bytes())
        .map_err(|e| format!("{}: {e}", args.path))?;
    Ok(format!(
        "{} {} ({} bytes, {} lines)",
        if opened.created {
            "created"
        } else {
            "replaced"
        },
        opened.shown,
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

    /// A thread swaps a checked directory for a symlink to outside, over and over,
    /// while files are written into it: no write may land outside.
    #[test]
    fn a_directory_swapped_for_a_symlink_never_redirects_a_write() {
        let tmp = tempfile::tempdir().unwrap();
        let proj = tmp.path().join("proj");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(proj.join("d")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        let root = Root::new(&proj).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let racer = {
            let (proj, outside, stop) = (proj.clone(), outside.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut swaps = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    // Errors are expected when the writer created `d` in between.
                    let aside = proj.join(format!("d-real-{swaps}"));
                    let _ = std::fs::rename(proj.join("d"), &aside);
                    let _ = std::os::unix::fs::symlink(&outside, proj.join("d"));
                    std::thread::yield_now();
                    let _ = std::fs::remove_file(proj.join("d"));
                    let _ = std::fs::rename(&aside, proj.join("d"));
                    swaps += 1;
                }
                swaps
            })
        };
        // Until both outcomes were seen often (bounded in time: the scheduler decides).
        let (mut written, mut refused) = (0u32, 0u32);
        let started = std::time::Instant::now();
        let mut i = 0u32;
        while (written < 200 || refused < 20) && started.elapsed().as_secs() < 10 {
            i += 1;
            let args = Args {
                path: format!("d/f{i}.txt"),
                content: "x".into(),
            };
            match run(&root, args) {
                Ok(_) => written += 1,
                Err(_) => refused += 1,
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let swaps = racer.join().unwrap();
        // On a loaded machine the scheduler may starve one side; the race was still run.
        assert!(
            swaps > 0 && written + refused >= 200,
            "swaps {swaps}, written {written}, refused {refused}"
        );
        let escaped: Vec<_> = std::fs::read_dir(&outside).unwrap().collect();
        assert!(
            escaped.is_empty(),
            "{} writes landed outside",
            escaped.len()
        );
    }
}
