//! The BPE tables behind exact counting, built from OpenAI's token lists the first
//! time a count needs them.
//!
//! The binary carries only the gzip'd `.tiktoken` lists (o200k 1.7 MB, cl100k 0.8 MB,
//! byte for byte the files OpenAI publishes); `bpe-openai`'s own prebuilt tables (the
//! encoder's automata, serialized: 32 MB and 15 MB) would more than double the
//! binary (64 MB stripped, against 20 MB). Building a table takes about a second of
//! CPU (o200k, release build), once per process and only for a model counted exactly
//! when a count is needed (the agent goes by the provider's figures while it can), on
//! whichever thread asks first (the agent may ask from a background thread, see
//! `tokens::warm_up`); every other thread that needs it meanwhile waits for that build.

use std::io::Read;
use std::sync::OnceLock;

use bpe::byte_pair_encoding::{BytePairEncoding, read_tiktoken};
use bpe_openai::Tokenizer;

/// OpenAI's `o200k_base.tiktoken` (sha256 446a9538…cf1a2d), gzip'd.
const O200K_LIST: &[u8] = include_bytes!("../../data/o200k_base.tiktoken.gz");
/// OpenAI's `cl100k_base.tiktoken` (sha256 223921b7…65b2a7), gzip'd.
const CL100K_LIST: &[u8] = include_bytes!("../../data/cl100k_base.tiktoken.gz");

/// The hash factor `bpe-openai` builds both tables with: under it no two tokens of
/// either list share a hash (a collision would make the build fail).
const HASH_FACTOR: u64 = 17_846_336_922_010_275_747;

/// tiktoken's o200k pre-tokenizer, as `bpe-openai` rewrites it for a regex engine
/// without look-around: `\s+(?!\S)` becomes a match of `\s+\s` whose last character
/// the splitter gives back.
const O200K_PATTERNS: [(&str, bool); 3] = [
    (
        concat!(
            "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            "|\\p{N}{1,3}",
            "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*",
            "|\\s*[\\r\\n]+",
            "|\\s+$",
        ),
        false,
    ),
    ("\\s+\\s", true),
    ("\\s+", false),
];

/// tiktoken's cl100k pre-tokenizer, rewritten the same way.
const CL100K_PATTERNS: [(&str, bool); 3] = [
    (
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+$",
        false,
    ),
    ("\\s+\\s", true),
    ("\\s+", false),
];

static O200K: OnceLock<Option<Tokenizer>> = OnceLock::new();
static CL100K: OnceLock<Option<Tokenizer>> = OnceLock::new();

/// The o200k_base tokenizer, built on first use; `None` if it could not be built.
pub(super) fn o200k() -> Option<&'static Tokenizer> {
    get_or_build(&O200K, || build("o200k_base", O200K_LIST, &O200K_PATTERNS))
}

/// The cl100k_base tokenizer, built on first use; `None` if it could not be built.
pub(super) fn cl100k() -> Option<&'static Tokenizer> {
    get_or_build(&CL100K, || {
        build("cl100k_base", CL100K_LIST, &CL100K_PATTERNS)
    })
}

/// Whether the o200k (`o200k`: true) or cl100k table was built (or its build failed)
/// in this process, without building it.
pub(super) fn settled(o200k: bool) -> bool {
    if o200k { &O200K } else { &CL100K }.get().is_some()
}

/// The table in `slot`, built by `build` if no thread has built it yet. Building, or
/// waiting for another thread's build, takes up to a second: on a worker of a
/// multi-threaded runtime the worker's other tasks are first handed to another thread,
/// so a first count never stalls them.
fn get_or_build(
    slot: &'static OnceLock<Option<Tokenizer>>,
    build: impl FnOnce() -> Option<Tokenizer>,
) -> Option<&'static Tokenizer> {
    if let Some(built) = slot.get() {
        return built.as_ref();
    }
    let wait = || slot.get_or_init(build).as_ref();
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(wait),
        _ => wait(),
    }
}

/// A tokenizer from a gzip'd `.tiktoken` list and its pre-tokenizer. The lists are
/// part of the binary and the tests build both, so `None` means a damaged binary;
/// counting then falls back to the estimate, labelled as such.
fn build(name: &str, list: &[u8], patterns: &[(&str, bool)]) -> Option<Tokenizer> {
    // Said at debug level: it explains a pause of about a second (and ~60 MB).
    tracing::debug!("building the {name} tokenizer tables");
    let mut text = String::new();
    flate2::read::GzDecoder::new(list)
        .read_to_string(&mut text)
        .ok()?;
    let tokens = read_tiktoken(&text).ok()?;
    let bpe = BytePairEncoding::from_dictionary(tokens, Some(HASH_FACTOR));
    Tokenizer::new_lookahead(bpe, patterns, false).ok()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Both tokenizers, built afresh (not the process-wide ones).
    pub(in crate::tokens) fn fresh() -> [(Tokenizer, &'static str); 2] {
        [
            (
                build("o200k_base", O200K_LIST, &O200K_PATTERNS).unwrap(),
                "o200k_base",
            ),
            (
                build("cl100k_base", CL100K_LIST, &CL100K_PATTERNS).unwrap(),
                "cl100k_base",
            ),
        ]
    }

    #[test]
    fn each_table_is_built_once_per_process() {
        let first = o200k().unwrap() as *const Tokenizer;
        let again = std::thread::spawn(|| o200k().unwrap() as *const Tokenizer as usize)
            .join()
            .unwrap();
        assert_eq!(first as usize, again);
        assert_eq!(
            cl100k().unwrap() as *const Tokenizer,
            cl100k().unwrap() as *const Tokenizer
        );
    }

    /// A build on the only worker of a runtime does not hold up that worker's other
    /// tasks: here the build cannot finish before another task has run.
    #[test]
    fn a_build_on_a_runtime_worker_lets_other_tasks_run() {
        static SLOT: OnceLock<Option<Tokenizer>> = OnceLock::new();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let (ran, other_task_ran) = std::sync::mpsc::channel();
        let (started, build_started) = std::sync::mpsc::channel();
        let building = runtime.spawn(async move {
            started.send(()).unwrap();
            get_or_build(&SLOT, || {
                other_task_ran
                    .recv_timeout(std::time::Duration::from_secs(10))
                    .ok()?;
                build("cl100k_base", CL100K_LIST, &CL100K_PATTERNS)
            })
            .is_some()
        });
        // The build holds the only worker; this task is queued behind it.
        build_started.recv().unwrap();
        runtime.spawn(async move { ran.send(()) });
        let built = runtime.block_on(building).unwrap();
        assert!(built, "the other task never ran while the table was built");
    }

    /// The shipped lists are the files OpenAI publishes (tiktoken checks the same
    /// hashes when it downloads them).
    #[test]
    fn the_lists_are_openais() {
        use sha2::{Digest, Sha256};
        for (list, sha256) in [
            (
                O200K_LIST,
                "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
            ),
            (
                CL100K_LIST,
                "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
            ),
        ] {
            let mut text = Vec::new();
            flate2::read::GzDecoder::new(list)
                .read_to_end(&mut text)
                .unwrap();
            assert_eq!(hex::encode(Sha256::digest(&text)), sha256);
        }
    }
}
