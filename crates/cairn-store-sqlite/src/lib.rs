//! The embedded SQLite store. (Skeleton: the implementation is in progress.)

use std::path::Path;
use std::sync::Arc;

use cairn_core::Store;
use cairn_core::settings::Synchronous;

/// Opens (creating it, private to the user, when absent) the store at `path`.
pub fn open_store(_path: &Path, _synchronous: Synchronous) -> cairn_core::Result<Arc<dyn Store>> {
    Err(cairn_core::Error::Storage("the SQLite store is not built yet".into()))
}
