//! What makes the shipped binary big. `bpe-openai`'s prebuilt BPE tables (its o200k and
//! cl100k encoders serialized, 47 MB of read-only data) were three quarters of the
//! stripped release binary; cairn ships OpenAI's gzip'd token lists instead (2.5 MB) and
//! builds the tables at first use. The read-only data of the `cairn` binary under test
//! shows which of the two it carries, in a debug build as in a release one.

#![cfg(target_os = "linux")]

/// The size of the ELF section `wanted` of the file at `path`, if it has one.
fn elf_section_size(path: &str, wanted: &str) -> Option<u64> {
    let elf = std::fs::read(path).expect("the binary is readable");
    let u16_at = |at: usize| u16::from_le_bytes(elf[at..at + 2].try_into().unwrap()) as usize;
    let u32_at = |at: usize| u32::from_le_bytes(elf[at..at + 4].try_into().unwrap()) as usize;
    let u64_at = |at: usize| u64::from_le_bytes(elf[at..at + 8].try_into().unwrap());
    assert_eq!(&elf[..4], b"\x7fELF", "an ELF file");
    assert_eq!(elf[4], 2, "a 64-bit ELF file");
    assert_eq!(elf[5], 1, "a little-endian ELF file");
    // ELF64 header: section header offset, entry size, count, index of the names.
    let (table, entry, count, names) = (
        u64_at(0x28) as usize,
        u16_at(0x3a),
        u16_at(0x3c),
        u16_at(0x3e),
    );
    let header = |i: usize| table + i * entry;
    let names_at = u64_at(header(names) + 0x18) as usize;
    (0..count).find_map(|i| {
        let name_at = names_at + u32_at(header(i));
        let len = elf[name_at..].iter().position(|b| *b == 0)?;
        (&elf[name_at..name_at + len] == wanted.as_bytes()).then(|| u64_at(header(i) + 0x20))
    })
}

#[test]
fn the_binary_carries_token_lists_not_built_tables() {
    let rodata = elf_section_size(env!("CARGO_BIN_EXE_cairn"), ".rodata")
        .expect("the binary has a .rodata section");
    let mb = rodata as f64 / 1e6;
    // With the built tables it was over 47 MB.
    assert!(
        mb < 16.0,
        "the cairn binary holds {mb:.1} MB of read-only data: are prebuilt BPE tables back?"
    );
    // The token lists are in it (the tables are built from them).
    assert!(
        mb > 2.4,
        "the token lists are missing: {mb:.1} MB of read-only data"
    );
}

/// The glibc the test runs on, as build.rs reads it (major, minor).
#[cfg(target_env = "gnu")]
fn glibc() -> (u32, u32) {
    unsafe extern "C" {
        fn gnu_get_libc_version() -> *const std::ffi::c_char;
    }
    // SAFETY: glibc returns a pointer to a static NUL-terminated string.
    let version = unsafe { std::ffi::CStr::from_ptr(gnu_get_libc_version()) };
    let version = version.to_str().expect("an ASCII version");
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// On glibc 2.36 or newer the binary's relative relocations are packed (DT_RELR):
/// the classic table of the `dist` binary was 0.7 MB (29,458 entries), read by the
/// loader at every start (BENCHMARKS.md, "Start-up: the fixed cost").
#[cfg(target_env = "gnu")]
#[test]
fn relative_relocations_are_packed_where_glibc_reads_them() {
    if glibc() < (2, 36) {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_cairn");
    let packed = elf_section_size(bin, ".relr.dyn");
    assert!(
        packed.is_some(),
        "the cairn binary has no .relr.dyn section"
    );
    let classic = elf_section_size(bin, ".rela.dyn").unwrap_or(0);
    assert!(
        classic < 64 * 1024,
        "the cairn binary still has {classic} bytes of classic relocations"
    );
}
