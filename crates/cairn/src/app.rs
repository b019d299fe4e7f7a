//! What every command runs with: paths, the current project, the resolved settings
//! and (opened on first use) the store.

use std::path::Path;
use std::sync::Arc;

use cairn_core::paths::Paths;
use cairn_core::settings::Settings;
use cairn_core::{Project, Store};
use tokio::sync::OnceCell;

pub struct App {
    pub paths: Paths,
    pub project: Project,
    pub settings: Settings,
    store: OnceCell<Arc<dyn Store>>,
}

impl App {
    pub fn new(project_dir: Option<&Path>) -> anyhow::Result<Self> {
        let paths = Paths::from_env()?;
        let project = match project_dir {
            Some(dir) => Project::from_user_path(dir)?,
            None => Project::current()?,
        };
        let settings = Settings::load(paths.clone(), Some(&project))?;
        // A project file that tried to loosen the user's limits is told, not obeyed
        // in silence.
        for warning in &settings.warnings {
            eprintln!("warning: {warning}");
        }
        Ok(App {
            paths,
            project,
            settings,
            store: OnceCell::new(),
        })
    }

    /// The store, opened (and created, private to the user) on first use.
    pub async fn store(&self) -> anyhow::Result<Arc<dyn Store>> {
        let store = self
            .store
            .get_or_try_init(|| async {
                let store = cairn_store_sqlite::open_store(
                    &self.paths.store_file(),
                    self.settings.store_synchronous,
                )?;
                anyhow::Ok(store)
            })
            .await?;
        Ok(Arc::clone(store))
    }
}
