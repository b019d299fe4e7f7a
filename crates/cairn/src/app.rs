//! What every command runs with: paths, the current project, the resolved settings
//! and (opened on first use) the store.

use std::path::Path;
use std::sync::Arc;

use cairn_core::paths::Paths;
use cairn_core::settings::Settings;
use cairn_core::{Project, Store};
use cairn_store::StoreUrl;
use tokio::sync::OnceCell;

pub(crate) struct App {
    pub paths: Paths,
    pub project: Project,
    pub settings: Settings,
    store_url: StoreUrl,
    store: OnceCell<Arc<dyn Store>>,
}

impl App {
    /// `store_flag` is `--store URL`, which wins over `CAIRN_STORE_URL` and the
    /// config's `[store] url`.
    pub(crate) fn new(
        project_dir: Option<&Path>,
        store_flag: Option<&str>,
    ) -> anyhow::Result<Self> {
        let paths = Paths::from_env()?;
        let project = match project_dir {
            Some(dir) => Project::from_user_path(dir)?,
            None => Project::current()?,
        };
        let mut settings = Settings::load(paths.clone(), Some(&project))?;
        let store_env = std::env::var(cairn_core::env_vars::CAIRN_STORE_URL).ok();
        let store_url = cairn_store::choose_url(store_flag, store_env.as_deref(), &settings)?;
        // Checked now, like every other setting, and shown with defaults filled in.
        let store_options = cairn_store::resolve_options(&store_url, &settings)?;
        settings.store_options = settings.store_options.resolved(store_options);
        // A project file that tried to loosen the user's limits is told, not obeyed
        // in silence.
        for warning in &settings.warnings {
            eprintln!("warning: {warning}");
        }
        Ok(App {
            paths,
            project,
            settings,
            store_url,
            store: OnceCell::new(),
        })
    }

    /// The store's URL (its `Display` hides a PostgreSQL password).
    pub(crate) fn store_url(&self) -> &StoreUrl {
        &self.store_url
    }

    /// Which store, for people (a PostgreSQL password is hidden).
    pub(crate) fn store_label(&self) -> String {
        match &self.store_url {
            StoreUrl::Sqlite(path) => path.display().to_string(),
            other => other.to_string(),
        }
    }

    /// The store when it exists; `None` when the embedded store was never created, so
    /// that reading commands can say there is nothing yet without creating it.
    pub(crate) async fn existing_store(&self) -> anyhow::Result<Option<Arc<dyn Store>>> {
        if let StoreUrl::Sqlite(path) = &self.store_url
            && !path.exists()
            && self.store.get().is_none()
        {
            return Ok(None);
        }
        self.store().await.map(Some)
    }

    /// The store, opened (and created, private to the user) on first use.
    pub(crate) async fn store(&self) -> anyhow::Result<Arc<dyn Store>> {
        let store = self
            .store
            .get_or_try_init(|| async {
                anyhow::Ok(cairn_store::open_store(&self.store_url, &self.settings)?)
            })
            .await?;
        Ok(Arc::clone(store))
    }
}
