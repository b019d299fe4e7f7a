//! Link settings of the `cairn` binary that its start-up time depends on.
//!
//! A position-independent executable is relocated by the dynamic loader on every
//! start: each pointer in its read-only data (vtables, panic locations, string tables)
//! has a relocation entry. The `dist` binary has about 56,000 of them, 1.3 MB of
//! `.rela.dyn` that every process reads in (BENCHMARKS.md, "Start-up: the fixed cost").
//! `-z pack-relative-relocs` stores them as a bitmap of a few kilobytes (DT_RELR).
//!
//! glibc runs such a binary from version 2.36 on and refuses it before that, so the
//! setting is only used where the binary is built for the machine it is built on and
//! that machine's glibc is 2.36 or newer: a binary built on an older system (to run
//! on older systems) keeps the classic table.

/// glibc 2.36 reads DT_RELR (GNU ld has written it since 2.38).
const RELR_SINCE_GLIBC: (u32, u32) = (2, 36);

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target_linux_gnu = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    let native = std::env::var("HOST").ok() == std::env::var("TARGET").ok();
    if target_linux_gnu && native && host_glibc().is_some_and(|v| v >= RELR_SINCE_GLIBC) {
        println!("cargo:rustc-link-arg-bin=cairn=-Wl,-z,pack-relative-relocs");
    }
}

/// The version of the glibc this build script runs on (major, minor).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn host_glibc() -> Option<(u32, u32)> {
    use std::ffi::{CStr, c_char};
    unsafe extern "C" {
        fn gnu_get_libc_version() -> *const c_char;
    }
    // SAFETY: glibc returns a pointer to a static NUL-terminated string.
    let version = unsafe { CStr::from_ptr(gnu_get_libc_version()) }
        .to_str()
        .ok()?;
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??))
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn host_glibc() -> Option<(u32, u32)> {
    None
}
