//! `/model [NAME]`: show the model, or switch to another (`provider:model`).

use cairn_core::store::SessionUpdate;
use serde_json::json;

use super::{CommandResult, Failure, Output};
use crate::agent::Agent;

pub(super) async fn run(agent: &mut Agent, args: &[&str]) -> CommandResult {
    let configured: Vec<&str> = agent
        .options
        .llm
        .configured()
        .iter()
        .map(|k| k.as_str())
        .collect();
    let Some(raw) = args.first() else {
        return Ok(Output::new(
            format!(
                "model: {} (configured providers: {}; switch with /model provider:model)",
                agent.model,
                configured.join(", ")
            ),
            json!({"model": agent.model, "configured": configured}),
        ));
    };
    if args.len() > 1 {
        return Err(Failure::Usage("usage: /model [provider:model]".into()));
    }
    let model = agent
        .options
        .llm
        .resolve(raw)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let previous = std::mem::replace(&mut agent.model, model.clone());
    agent
        .update_session(SessionUpdate {
            model: Some(Some(model.to_string())),
            ..Default::default()
        })
        .await?;
    Ok(Output::new(
        format!("model: {previous} → {model}"),
        json!({"model": model, "previous": previous}),
    ))
}
