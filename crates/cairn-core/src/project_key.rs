//! The key that makes two checkouts of one repository one project, on any machine:
//! the normalised URL of the `origin` remote, else the repository's root commit,
//! else the path. A path differs between machines; the key does not.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The key of the project rooted at `root` (a canonical git top-level or directory).
pub fn key_for_root(root: &Path) -> String {
    let Some(git_dir) = git_dir(root) else {
        return path_key(root);
    };
    if let Some(key) = origin_url(&common_dir(&git_dir)).and_then(|url| normalise_remote(&url)) {
        return key;
    }
    if let Some(commit) = root_commit(root) {
        return format!("commit:{commit}");
    }
    path_key(root)
}

fn path_key(root: &Path) -> String {
    root.to_string_lossy().into_owned()
}

/// The repository's git directory: `.git` itself, or the directory a `.git` file
/// (worktrees, submodules) points at.
fn git_dir(root: &Path) -> Option<PathBuf> {
    let dot_git = root.join(".git");
    if dot_git.is_dir() {
        return Some(dot_git);
    }
    let text = std::fs::read_to_string(&dot_git).ok()?;
    let target = text.lines().find_map(|l| l.strip_prefix("gitdir:"))?.trim();
    Some(root.join(target))
}

/// Where the shared config lives: a worktree's git directory names it in `commondir`.
fn common_dir(git_dir: &Path) -> PathBuf {
    match std::fs::read_to_string(git_dir.join("commondir")) {
        Ok(text) => git_dir.join(text.trim()),
        Err(_) => git_dir.to_path_buf(),
    }
}

/// The `url` of `[remote "origin"]` in the repository's own config.
fn origin_url(common_dir: &Path) -> Option<String> {
    let config = std::fs::read_to_string(common_dir.join("config")).ok()?;
    let mut in_origin = false;
    for line in config.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            let section: String = line.chars().filter(|c| !c.is_whitespace()).collect();
            in_origin = section.eq_ignore_ascii_case("[remote\"origin\"]");
            continue;
        }
        if !in_origin {
            continue;
        }
        if let Some((name, value)) = line.split_once('=')
            && name.trim().eq_ignore_ascii_case("url")
        {
            let value = value.trim().trim_matches('"').trim();
            if !value.is_empty() {
                return Some(value.to_owned());
            }
        }
    }
    None
}

/// The oldest root commit of HEAD, asked of `git` (absent git or an empty
/// repository gives `None`). Several roots (merged histories): the smallest id,
/// so every clone picks the same one.
fn root_commit(root: &Path) -> Option<String> {
    let output = Command::new("git")
        .args(["rev-list", "--max-parents=0", "HEAD"])
        .current_dir(root)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| l.len() >= 40 && l.chars().all(|c| c.is_ascii_hexdigit()))
        .min()
        .map(str::to_owned)
}

/// `host/path` of a remote URL: `git@github.com:acme/api.git`,
/// `https://user:token@GitHub.com/acme/api/` and `ssh://git@github.com:22/acme/api`
/// all give `github.com/acme/api`. Credentials, scheme, port, a trailing `.git`
/// and slashes are dropped; the host is lower-cased; the path keeps its case.
/// `None` for a URL without a host (a local path), which is no key across machines.
pub fn normalise_remote(url: &str) -> Option<String> {
    let url = url.trim();
    let (authority, path) = if let Some((_scheme, rest)) = url.split_once("://") {
        match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, ""),
        }
    } else {
        // scp-like `[user@]host:path`; a colon after a slash is a local path.
        let colon = url.find(':')?;
        if url[..colon].contains('/') {
            return None;
        }
        (&url[..colon], &url[colon + 1..])
    };
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or(v6, |(h, _)| h),
        None => host_port.split_once(':').map_or(host_port, |(h, _)| h),
    };
    let host = host.to_ascii_lowercase();
    if host.is_empty() {
        return None;
    }
    let path = path.trim_matches('/');
    let path = path
        .strip_suffix(".git")
        .unwrap_or(path)
        .trim_end_matches('/');
    if path.is_empty() {
        return None;
    }
    Some(format!("{host}/{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spellings_of_one_remote_are_one_key() {
        for url in [
            "git@github.com:acme/api.git",
            "https://github.com/acme/api",
            "https://github.com/acme/api.git/",
            "ssh://git@github.com/acme/api",
            "ssh://git@github.com:22/acme/api.git",
            "https://user:s3cret@GitHub.COM/acme/api",
            "git://github.com/acme/api.git",
        ] {
            assert_eq!(
                normalise_remote(url).as_deref(),
                Some("github.com/acme/api"),
                "{url}"
            );
        }
    }

    #[test]
    fn the_path_keeps_its_case_and_credentials_never_survive() {
        assert_eq!(
            normalise_remote("https://x-token:ghp_abc@gitlab.example.com:8443/Team/API").as_deref(),
            Some("gitlab.example.com/Team/API")
        );
        assert_ne!(
            normalise_remote("git@github.com:acme/api.git"),
            normalise_remote("git@github.com:acme/web.git")
        );
    }

    #[test]
    fn a_local_path_remote_is_no_key() {
        assert_eq!(normalise_remote("/srv/git/api.git"), None);
        assert_eq!(normalise_remote("../api"), None);
        assert_eq!(normalise_remote("./a:b/c"), None);
        assert_eq!(normalise_remote("https://github.com/"), None);
    }

    fn git(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    #[test]
    fn origin_wins_then_root_commit_then_path() {
        let tmp = tempfile::tempdir().unwrap();
        let plain = tmp.path().join("plain");
        std::fs::create_dir_all(&plain).unwrap();
        assert_eq!(key_for_root(&plain), plain.to_string_lossy());

        let repo = tmp.path().join("repo");
        std::fs::create_dir_all(&repo).unwrap();
        git(&repo, &["init", "-q"]);
        // An empty repository has no root commit yet: the path.
        assert_eq!(key_for_root(&repo), repo.to_string_lossy());
        git(&repo, &["commit", "-q", "--allow-empty", "-m", "first"]);
        let by_commit = key_for_root(&repo);
        assert!(by_commit.starts_with("commit:"), "{by_commit}");

        // A clone elsewhere without origin shares the root commit.
        let clone = tmp.path().join("elsewhere/clone");
        std::fs::create_dir_all(clone.parent().unwrap()).unwrap();
        git(
            tmp.path(),
            &[
                "clone",
                "-q",
                repo.to_str().unwrap(),
                clone.to_str().unwrap(),
            ],
        );
        git(&clone, &["remote", "remove", "origin"]);
        assert_eq!(key_for_root(&clone), by_commit);

        git(
            &repo,
            &["remote", "add", "origin", "git@github.com:Acme/api.git"],
        );
        assert_eq!(key_for_root(&repo), "github.com/Acme/api");

        // A linked worktree reads the shared config.
        let linked = tmp.path().join("linked");
        git(&repo, &["worktree", "add", "-q", linked.to_str().unwrap()]);
        assert_eq!(key_for_root(&linked), "github.com/Acme/api");
    }
}
