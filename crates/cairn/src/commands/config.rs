//! `cairn config path` and `cairn config show`.

use crate::app::App;
use crate::args::config::ConfigCommand;

pub async fn run(app: &App, command: ConfigCommand) -> anyhow::Result<()> {
    match command {
        ConfigCommand::Path { json } => {
            let user = app.paths.config_file();
            let project = app.project.path().join(cairn_core::paths::PROJECT_CONFIG_FILE);
            let store = app.paths.store_file();
            if json {
                let value = serde_json::json!({
                    "config_file": user,
                    "project_config_file": project,
                    "store_file": store,
                    "data_dir": app.paths.data_dir,
                });
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                println!("config file:          {}", user.display());
                println!("project config file:  {}", project.display());
                println!("store:                {}", store.display());
                println!("data directory:       {}", app.paths.data_dir.display());
            }
        }
        ConfigCommand::Show { json } => {
            let value = serde_json::to_value(&app.settings)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                // TOML is how people write settings, so show them that way.
                let text = toml::to_string_pretty(&value)
                    .unwrap_or_else(|_| serde_json::to_string_pretty(&value).unwrap_or_default());
                print!("{text}");
            }
        }
    }
    Ok(())
}
