//! The files a running daemon leaves in `$CAIRN_HOME`: its pid (`serve.pid`, for
//! `cairn serve --stop`) and its address (`serve.addr`, for `cairn send`). Neither
//! holds the token.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const PID_FILE: &str = "serve.pid";
pub const ADDR_FILE: &str = "serve.addr";

pub fn pid_file(home: &Path) -> PathBuf {
    home.join(PID_FILE)
}

pub fn addr_file(home: &Path) -> PathBuf {
    home.join(ADDR_FILE)
}

/// Write `text` to `path` atomically (a reader never sees half of it).
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// The address a running daemon published, if any.
pub fn read_addr(home: &Path) -> Option<SocketAddr> {
    std::fs::read_to_string(addr_file(home))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The pid a daemon published, if any.
pub fn read_pid(home: &Path) -> Option<u32> {
    std::fs::read_to_string(pid_file(home))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Remove both files (the daemon is stopping).
pub fn remove(home: &Path) {
    let _ = std::fs::remove_file(pid_file(home));
    let _ = std::fs::remove_file(addr_file(home));
}
