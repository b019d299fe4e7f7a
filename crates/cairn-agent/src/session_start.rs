//! What a session a person drives starts with besides its history: the project's
//! instruction files (see [`crate::project_files`]), recorded when they are new to
//! the session or changed, and for a new session the brief of the project's recent
//! checkpoint (see [`crate::start_brief`]).

use cairn_core::Timestamp;

use crate::agent::Agent;
use crate::project_files::{ProjectFiles, latest_recorded};
use crate::tools::confine::Root;
use crate::{AgentError, AgentEvent, Frontend};

pub(crate) async fn prepare(
    agent: &mut Agent,
    created: bool,
    ui: &mut dyn Frontend,
) -> Result<(), AgentError> {
    if agent.depth > 0 {
        return Ok(());
    }
    let memory = agent.options.settings.memory.clone();
    agent.project_files = if memory.project_files {
        read_files(
            agent.toolbox.root().to_path_buf(),
            memory.project_files_max_bytes,
        )
        .await
    } else {
        ProjectFiles::default()
    };
    let recorded = latest_recorded(&agent.conversation.live().events);
    let changed = !agent
        .project_files
        .same_as_recorded(agent.conversation.live());
    if changed && !(agent.project_files.is_empty() && recorded.is_none()) {
        let event = agent.project_files.event();
        agent.append(vec![event]).await?;
        if !created && recorded.is_some() {
            ui.event(AgentEvent::Notice {
                message: "the project's instruction files changed since this session last \
                          read them; the model now has them as they are (/context shows which)"
                    .to_owned(),
            });
        }
    }
    for refused in &agent.project_files.refused {
        ui.event(AgentEvent::Notice {
            message: format!("{} not loaded: {}", refused.path, refused.reason),
        });
    }
    if let Some(cut) = agent.project_files.files.iter().find(|f| f.cut) {
        ui.event(AgentEvent::Notice {
            message: format!(
                "{} was cut to {} of its {} bytes (memory.project_files_max_bytes)",
                cut.path, cut.loaded_bytes, cut.bytes
            ),
        });
    }
    if created && memory.checkpoint_brief {
        let project = agent.conversation.session().project.clone();
        let brief = crate::start_brief::brief_message(
            &agent.store,
            &project,
            memory.checkpoint_brief_max_age_hours,
            Timestamp::now(),
        )
        .await?;
        if let Some(message) = brief {
            agent.append_message(message).await?;
            ui.event(AgentEvent::Notice {
                message: "started with the where-was-I brief of the project's latest \
                          checkpoint (memory.checkpoint_brief)"
                    .to_owned(),
            });
        }
    }
    Ok(())
}

/// The files of the project root and of the folders down to the working directory.
async fn read_files(root: std::path::PathBuf, max_bytes: usize) -> ProjectFiles {
    let cwd = std::env::current_dir().ok();
    tokio::task::spawn_blocking(move || match Root::with_paths(&root, None) {
        Ok(root) => ProjectFiles::read(&root, cwd.as_deref(), max_bytes),
        Err(_) => ProjectFiles::default(),
    })
    .await
    .unwrap_or_default()
}
