//! `cairn config path` and `cairn config show`.
//!
//! A config file with an error never gets here: settings are resolved before any
//! command runs, and that error (exit 1) names the file, the line and the key.

use std::io::Write;

use cairn_core::settings::mask;
use serde_json::{Map, Value};

use crate::app::App;
use crate::args::config::ConfigCommand;
use crate::output;

pub(super) async fn run(app: &App, command: ConfigCommand) -> anyhow::Result<()> {
    match command {
        ConfigCommand::Path { json } => {
            let user = app.paths.config_file();
            let project = app
                .project
                .path()
                .join(cairn_core::paths::PROJECT_CONFIG_FILE);
            let store = app.paths.store_file();
            // The SQLite file, or the chosen store's URL (password hidden).
            let label = app.store_label();
            let store_is_the_file = label == store.display().to_string();
            if json {
                let value = serde_json::json!({
                    "config_file": user,
                    "project_config_file": project,
                    "store": label,
                    // Null when the store is not this machine's SQLite file.
                    "store_file": store_is_the_file.then_some(&store),
                    "data_dir": app.paths.data_dir,
                });
                output::print_json(&value)?;
            } else {
                let mut out = output::stdout();
                let exists = |p: &std::path::Path| if p.exists() { "" } else { "  (absent)" };
                writeln!(
                    out,
                    "config file:          {}{}",
                    user.display(),
                    exists(&user)
                )?;
                writeln!(
                    out,
                    "project config file:  {}{}",
                    project.display(),
                    exists(&project)
                )?;
                let absent = if store_is_the_file {
                    exists(&store)
                } else {
                    ""
                };
                writeln!(out, "store:                {label}{absent}")?;
                writeln!(
                    out,
                    "data directory:       {}",
                    app.paths.data_dir.display()
                )?;
                out.flush()?;
            }
        }
        ConfigCommand::Show { json } => {
            let mut value = serde_json::to_value(&app.settings)?;
            mask_secrets(&mut value, None);
            if json {
                if let Value::Object(map) = &mut value {
                    map.insert(
                        "origins".into(),
                        serde_json::to_value(&app.settings.origins)?,
                    );
                    map.insert(
                        "warnings".into(),
                        serde_json::to_value(&app.settings.warnings)?,
                    );
                    map.insert(
                        "defaults_in_effect".into(),
                        serde_json::to_value(defaults_in_effect(app))?,
                    );
                }
                output::print_json(&value)?;
            } else {
                print_toml(app, value)?;
            }
        }
    }
    Ok(())
}

/// Resolved settings that live in a table of the config file: (field, table, key).
const TABLED: [(&str, &str, &str); 5] = [
    ("pool_ttl_secs", "pool", "ttl_secs"),
    ("store_synchronous", "store", "synchronous"),
    ("store_url", "store", "url"),
    ("shell_allow", "shell", "allow"),
    ("mcp_max_body_bytes", "mcp", "max_body_bytes"),
];

/// TOML is how people write settings, so show them that way, in the shape of the
/// config file (the output, secrets aside, can be pasted into one). TOML has no
/// null: unset settings are left out, and listed in a comment so they can be found.
fn print_toml(app: &App, mut value: Value) -> anyhow::Result<()> {
    if let Value::Object(map) = &mut value {
        to_config_shape(map);
    }
    let mut unset = Vec::new();
    drop_nulls(&mut value, "", &mut unset);
    let text = toml::to_string_pretty(&value)?;
    let mut out = output::stdout();
    writeln!(out, "# cairn settings, resolved in this order:")?;
    writeln!(out, "#   defaults")?;
    for source in &app.settings.sources {
        writeln!(out, "#   {}", source.display())?;
    }
    writeln!(out, "#   CAIRN_* and provider environment variables")?;
    writeln!(out, "# Secrets are masked.")?;
    if !app.settings.origins.is_empty() {
        writeln!(out, "# Set by (the layer that won):")?;
        for (key, origin) in &app.settings.origins {
            writeln!(out, "#   {key}: {}", output::printable(origin))?;
        }
    }
    for warning in &app.settings.warnings {
        writeln!(out, "# Ignored: {}", output::printable(warning))?;
    }
    if !unset.is_empty() {
        writeln!(out, "# Not set: {}", unset.join(", "))?;
    }
    let defaults = defaults_in_effect(app);
    if !defaults.is_empty() {
        writeln!(out, "# Defaults in effect (nothing configured):")?;
        for line in defaults {
            writeln!(out, "#   {line}")?;
        }
    }
    writeln!(out)?;
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Settings left empty in every layer whose empty value means a shipped default, said
/// as what is in force (an empty `pressure_levels = []` would read as "never compress").
fn defaults_in_effect(app: &App) -> Vec<String> {
    use cairn_agent::compression::triggers::{
        DEFAULT_CONTEXT_WINDOW, DEFAULT_TARGET_RATIO, DEFAULT_THRESHOLD_SHARE,
    };
    let mut lines = Vec::new();
    if app.settings.compression.pressure_levels.is_empty() {
        lines.push(format!(
            "compression.pressure_levels: one level at {}% of the model's context window \
             ({} tokens when the window is unknown), target_ratio {DEFAULT_TARGET_RATIO}",
            DEFAULT_THRESHOLD_SHARE * 100.0,
            output::grouped((DEFAULT_CONTEXT_WINDOW as f64 * DEFAULT_THRESHOLD_SHARE) as u64),
        ));
    }
    let builtin = cairn_agent::run_commands::commands_with_defaults(&[]);
    let kept: Vec<String> = builtin
        .iter()
        .filter(|d| !app.settings.commands.iter().any(|c| c.name == d.name))
        .map(|d| format!("commands: `{}` (built in: {})", d.name, d.description))
        .collect();
    lines.extend(kept);
    lines
}

fn to_config_shape(map: &mut Map<String, Value>) {
    // Shown in the comment above the settings; not settings themselves.
    map.shift_remove("sources");
    for (field, table, key) in TABLED {
        if let Some(value) = map.shift_remove(field) {
            let entry = map
                .entry(table)
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(table) = entry {
                table.insert(key.to_owned(), value);
            }
        }
    }
    // The HTTP limits are keys of `[mcp]` in the config file.
    if let Some(Value::Object(limits)) = map.shift_remove("mcp_http") {
        let entry = map
            .entry("mcp")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(table) = entry {
            table.extend(limits);
        }
    }
}

/// Removes nulls (and tables left empty by that), remembering their dotted keys.
fn drop_nulls(value: &mut Value, prefix: &str, unset: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            // Tables that were empty to begin with (e.g. `[pricing]`) stay.
            let was_empty: Vec<String> = map
                .iter()
                .filter(|(_, v)| v.as_object().is_some_and(|m| m.is_empty()))
                .map(|(k, _)| k.clone())
                .collect();
            for key in keys {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                if let Some(child) = map.get_mut(&key) {
                    if child.is_null() {
                        map.shift_remove(&key);
                        unset.push(path);
                        continue;
                    }
                    drop_nulls(child, &path, unset);
                    let emptied = child.as_object().is_some_and(|m| m.is_empty());
                    if emptied && !was_empty.contains(&key) {
                        map.shift_remove(&key);
                    }
                }
            }
        }
        Value::Array(items) => {
            items.retain(|v| !v.is_null());
            for item in items {
                drop_nulls(item, prefix, unset);
            }
        }
        _ => {}
    }
}

/// Belt and braces over `Settings`' own masking: any string under a key that names
/// a secret, and any password inside a URL, is masked before it is shown.
fn mask_secrets(value: &mut Value, key: Option<&str>) {
    match value {
        Value::Object(map) => mask_map(map),
        Value::Array(items) => {
            for item in items {
                mask_secrets(item, key);
            }
        }
        Value::String(s) => {
            let secret_key = key.is_some_and(|k| {
                let k = k.to_ascii_lowercase();
                ["key", "token", "secret", "password"]
                    .iter()
                    .any(|word| k.contains(word))
            });
            if secret_key && !s.starts_with("****") {
                *s = mask(s);
            } else if let Some(masked) = mask_url_password(s) {
                *s = masked;
            }
        }
        _ => {}
    }
}

fn mask_map(map: &mut Map<String, Value>) {
    for (key, child) in map.iter_mut() {
        mask_secrets(child, Some(key));
    }
}

/// `https://user:pw@host/…` → `https://user:****@host/…`.
fn mask_url_password(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let (userinfo, host) = authority.rsplit_once('@')?;
    let (user, _password) = userinfo.split_once(':')?;
    Some(format!(
        "{scheme}://{user}:****@{host}{}",
        &rest[authority_end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nulls_are_dropped_and_named() {
        let mut v = json!({"model": null, "a": {"b": null, "c": 1}, "list": [1, null],
            "gone": {"x": null}, "kept": {}});
        let mut unset = Vec::new();
        drop_nulls(&mut v, "", &mut unset);
        assert_eq!(v, json!({"a": {"c": 1}, "list": [1], "kept": {}}));
        assert_eq!(unset, vec!["model", "a.b", "gone.x"]);
    }

    #[test]
    fn secrets_and_url_passwords_are_masked() {
        let mut v = json!({
            "providers": {"x": {"api_key": "sk-abcdefghijkl", "base_url": "https://me:hunter2@h.example/v1"}},
            "bearer_token": "short",
            "model": "openai:gpt-4.1"
        });
        mask_secrets(&mut v, None);
        assert_eq!(v["providers"]["x"]["api_key"], "****ijkl");
        assert_eq!(
            v["providers"]["x"]["base_url"],
            "https://me:****@h.example/v1"
        );
        assert_eq!(v["bearer_token"], "****");
        assert_eq!(v["model"], "openai:gpt-4.1");
    }
}
