//! Test helpers shared by cairn's crates.
