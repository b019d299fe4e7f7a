//! `cairn acp`: the Agent Client Protocol over stdio, for editors. The protocol lives
//! in `cairn-acp`; this module only says how a client's working directory becomes the
//! engine's options (the CLI's project rule and settings layering).

use std::path::Path;
use std::sync::Arc;

use cairn_acp::{AcpConfig, Workspace};
use cairn_agent::AgentOptions;
use cairn_core::Project;
use cairn_core::paths::Paths;
use cairn_core::settings::{Settings, SettingsLayer};
use cairn_llm::LlmClient;

use crate::app::App;
use crate::args::acp::AcpArgs;

pub(super) async fn run(app: &App, args: AcpArgs) -> anyhow::Result<()> {
    let store = app.store().await?;
    let workspace = CliWorkspace {
        paths: app.paths.clone(),
        project: app.project.clone(),
        settings: app.settings.clone(),
        model: args.model,
        told: Default::default(),
    };
    // Fail now, in the editor's log, when no model can be used at all.
    workspace
        .options_for(app.project.path())
        .map_err(|e| anyhow::anyhow!(e))?;
    cairn_acp::serve_stdio(AcpConfig {
        store,
        workspace: Arc::new(workspace),
        project: app.project.clone(),
        sessions: cairn_acp::SharedSessions::default(),
    })
    .await?;
    Ok(())
}

/// Options for a client's `cwd`, resolved as `cairn run` resolves them there.
pub(super) struct CliWorkspace {
    pub(super) paths: Paths,
    /// The project `cairn acp` started in, whose settings are already resolved.
    pub(super) project: Project,
    pub(super) settings: Settings,
    pub(super) model: Option<String>,
    /// Projects whose unapproved `.mcp.json` servers were already mentioned.
    pub(super) told: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl Workspace for CliWorkspace {
    fn options_for(&self, cwd: &Path) -> Result<AgentOptions, String> {
        let project = self.project_of(cwd)?;
        let mut settings = if project == self.project {
            self.settings.clone()
        } else {
            let settings =
                Settings::load(self.paths.clone(), Some(&project)).map_err(|e| e.to_string())?;
            for warning in &settings.warnings {
                tracing::warn!("{warning}");
            }
            settings
        };
        settings.apply_flags(SettingsLayer {
            model: self.model.clone(),
            ..SettingsLayer::default()
        });
        // An editor cannot be asked here: approved `.mcp.json` servers join, others
        // are mentioned once per project in the log.
        super::project_servers::without_asking(&self.paths, &project, &mut settings, |note| {
            let mut told = self.told.lock().unwrap_or_else(|p| p.into_inner());
            if told.insert(project.key().to_owned()) {
                tracing::warn!("{note}");
            }
        });
        let llm = LlmClient::from_settings(&settings).map_err(|e| e.to_string())?;
        Ok(AgentOptions {
            project,
            settings: Arc::new(settings),
            llm,
            // Shell commands outside [shell] allow are asked through the editor.
            auto_approve_shell: false,
            force: false,
            allow_other_project: false,
        })
    }

    fn project_of(&self, cwd: &Path) -> Result<Project, String> {
        if !cwd.is_absolute() {
            return Err(format!(
                "cwd {} is not an absolute path (ACP requires one)",
                cwd.display()
            ));
        }
        Project::from_user_path(cwd).map_err(|e| e.to_string())
    }
}
