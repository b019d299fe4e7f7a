//! `cairn config path` and `cairn config show` through the real binary.

use crate::sessions_fixtures;

use cairn_testkit::home::TestHome;
use sessions_fixtures::*;

#[test]
fn path_names_every_file_under_cairn_home() {
    let home = TestHome::new();
    let c = cairn(&home);
    let out = c.run(["config", "path"]);
    out.success();
    insta::assert_snapshot!(scrub(&home, &out.stdout), @r"
    config file:          [ROOT]/cairn-home/config.toml  (absent)
    project config file:  [ROOT]/project/.cairn.toml  (absent)
    store:                [ROOT]/cairn-home/cairn.db  (absent)
    data directory:       [ROOT]/cairn-home
    ");
    let v = c.run(["config", "path", "--json"]).json();
    let home_dir = home.cairn_home.display().to_string();
    assert_eq!(v["config_file"], format!("{home_dir}/config.toml"));
    assert_eq!(v["store_file"], format!("{home_dir}/cairn.db"));
    assert_eq!(v["data_dir"], home_dir);
    assert_eq!(
        v["project_config_file"],
        format!("{}/.cairn.toml", home.project.display())
    );
}

#[test]
fn show_prints_valid_toml_in_the_config_file_shape_with_secrets_masked() {
    let home = TestHome::new();
    home.write_config(
        r#"
model = "openai:gpt-4.1"
max_session_spending_threshold = 10.0

[compression]
knowledge_retention = 7

[[compression.pressure_levels]]
threshold = 50000
target_ratio = 2.0

[providers.anthropic]
api_key = "sk-ant-config-file-secret-9876"
base_url = "https://user:hunter2@proxy.example/v1"
"#,
    );
    home.write_project_config("[pool]\nttl_secs = 60\n");
    let c = cairn(&home).env("OPENAI_API_KEY", "sk-env-secret-abcdef1234");
    let out = c.run(["config", "show"]);
    out.success();
    let text = &out.stdout;
    for secret in ["config-file-secret", "env-secret", "hunter2"] {
        assert!(!text.contains(secret), "{secret} shown:\n{text}");
    }
    // Valid TOML, and it reads back as a settings file (the config-file shape).
    let parsed: toml::Value = toml::from_str(text).expect("config show prints TOML");
    cairn_core::settings::parse_layer(text).expect("config show output is a valid config file");
    assert_eq!(parsed["model"].as_str(), Some("openai:gpt-4.1"));
    assert_eq!(
        parsed["max_session_spending_threshold"].as_float(),
        Some(10.0)
    );
    assert_eq!(
        parsed["compression"]["knowledge_retention"].as_integer(),
        Some(7)
    );
    assert_eq!(
        parsed["compression"]["pressure_levels"][0]["threshold"].as_integer(),
        Some(50000)
    );
    assert_eq!(parsed["pool"]["ttl_secs"].as_integer(), Some(60));
    assert_eq!(
        parsed["providers"]["openai"]["api_key"].as_str(),
        Some("****1234")
    );
    assert_eq!(
        parsed["providers"]["anthropic"]["api_key"].as_str(),
        Some("****9876")
    );
    assert_eq!(
        parsed["providers"]["anthropic"]["base_url"].as_str(),
        Some("https://user:****@proxy.example/v1")
    );
    // Where the values came from, in order, and what is not set.
    let project_file = home.project.join(".cairn.toml").display().to_string();
    let user_file = home.config_file().display().to_string();
    let user_at = text
        .find(&format!("#   {user_file}"))
        .expect("user file named");
    let project_at = text
        .find(&format!("#   {project_file}"))
        .expect("project file named");
    assert!(user_at < project_at);
    assert!(text.contains("# Not set: ") && text.contains("max_request_spending_threshold"));

    // JSON: the same values, nulls kept, secrets masked.
    let out = c.run(["config", "show", "--json"]);
    out.success();
    assert!(!out.stdout.contains("secret"), "{}", out.stdout);
    let v = out.json();
    assert_eq!(v["model"], "openai:gpt-4.1");
    assert_eq!(v["max_request_spending_threshold"], serde_json::Value::Null);
    assert_eq!(v["compression"]["knowledge_retention"], 7);
    assert_eq!(v["pool_ttl_secs"], 60);
    assert_eq!(v["providers"]["openai"]["api_key"], "****1234");
    assert_eq!(v["sources"][0], user_file);
    assert_eq!(v["sources"][1], project_file);
}

#[test]
fn show_output_pasted_into_a_config_file_gives_the_same_settings() {
    let home = TestHome::new();
    home.write_config(
        "model = \"anthropic:claude-sonnet-4-5\"\n[compression]\nhints_enabled = false\n\
         [[commands]]\nname = \"review\"\nprompt = \"Review the diff\"\n[shell]\nallow = [\"cargo\"]\n",
    );
    let c = cairn(&home);
    let first = c.run(["config", "show", "--json"]).json();
    let toml_text = c.run(["config", "show"]).stdout;
    let other = TestHome::new();
    other.write_config(&toml_text);
    let second = cairn(&other).run(["config", "show", "--json"]).json();
    let strip = |mut v: serde_json::Value| {
        // Where each setting came from names the file, which differs by design.
        let map = v.as_object_mut().unwrap();
        map.remove("sources");
        map.remove("origins");
        v
    };
    assert_eq!(strip(first), strip(second));
}

#[test]
fn a_project_file_may_tighten_but_not_loosen_and_show_names_the_winner() {
    let home = TestHome::new();
    home.write_config(
        "max_session_spending_threshold = 5.0\nmax_request_spending_threshold = 1.0\n\
         [pricing.\"openai:gpt-4.1\"]\ninput = 2.0\noutput = 8.0\n",
    );
    home.write_project_config(
        "max_session_spending_threshold = 10000.0\nmax_request_spending_threshold = 0.5\n\
         [pricing.\"openai:gpt-4.1\"]\ninput = 0.0\noutput = 0.0\n\
         [mcp]\nmax_body_bytes = 1000000000000\n",
    );
    let project_file = home.project.join(".cairn.toml").display().to_string();
    let c = cairn(&home);
    let out = c.run(["config", "show", "--json"]);
    out.success().stderr_has(&[
        "warning: ",
        &project_file,
        "`max_session_spending_threshold`",
        "`pricing`",
        "`mcp.max_body_bytes`",
    ]);
    let v = out.json();
    assert_eq!(v["max_session_spending_threshold"], 5.0);
    assert_eq!(v["max_request_spending_threshold"], 0.5);
    assert_eq!(v["pricing"]["openai:gpt-4.1"]["input"], 2.0);
    assert_eq!(v["mcp_max_body_bytes"], 4 * 1024 * 1024);
    let user_file = home.config_file().display().to_string();
    assert_eq!(
        v["origins"]["max_session_spending_threshold"],
        user_file.as_str()
    );
    assert_eq!(
        v["origins"]["max_request_spending_threshold"],
        project_file.as_str()
    );
    let text = c.run(["config", "show"]).stdout;
    assert!(
        text.contains(&format!(
            "#   max_request_spending_threshold: {project_file}"
        )),
        "{text}"
    );
    assert!(
        text.contains("# Ignored: ") && text.contains("`pricing`"),
        "{text}"
    );
}

#[test]
fn environment_overrides_files() {
    let home = TestHome::new();
    home.write_config("model = \"openai:gpt-4.1\"\n");
    let c = cairn(&home).env("CAIRN_MODEL", "ollama:qwen3");
    let v = c.run(["config", "show", "--json"]).json();
    assert_eq!(v["model"], "ollama:qwen3");
}

#[test]
fn output_to_a_pipe_has_no_colour() {
    let home = TestHome::new();
    let c = cairn(&home);
    import(&c, &home, "r.jsonl", &rich("rich", &home.project_key()));
    for args in [
        vec!["sessions", "list"],
        vec!["sessions", "show", "rich"],
        vec!["sessions", "context", "rich", "--all"],
        vec!["sessions", "search", "permissions"],
        vec!["config", "show"],
    ] {
        let out = c.run(&args);
        out.success();
        assert!(!out.stdout.contains('\x1b'), "{args:?}: {}", out.stdout);
    }
}

/// Runs `cairn ARGS` on a pseudo-terminal (util-linux `script`), returning what the
/// terminal showed.
fn on_terminal(home: &TestHome, args: &str, no_color: bool) -> String {
    let command = format!("{} {args}", env!("CARGO_BIN_EXE_cairn"));
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &command, "/dev/null"])
        .current_dir(&home.project)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home.user_home)
        .env("CAIRN_HOME", &home.cairn_home)
        .stdin(std::process::Stdio::null());
    if no_color {
        cmd.env("NO_COLOR", "1");
    }
    let out = cmd
        .output()
        .expect("`script` (util-linux) is needed for this test; run scripts/install-test-deps");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_terminal_gets_bold_highlights_unless_no_color() {
    let home = TestHome::new();
    let c = cairn(&home);
    import(&c, &home, "r.jsonl", &rich("rich", &home.project_key()));
    let coloured = on_terminal(&home, "sessions search permissions", false);
    assert!(
        coloured.contains("\x1b[1mpermissions\x1b[0m"),
        "{coloured:?}"
    );
    assert!(!coloured.contains("[permissions]"), "{coloured:?}");
    let plain = on_terminal(&home, "sessions search permissions", true);
    assert!(!plain.contains('\x1b'), "{plain:?}");
    assert!(plain.contains("[permissions]"), "{plain:?}");
}

#[test]
fn store_options_are_checked_by_the_store_backend_and_shown_resolved() {
    let home = TestHome::new();
    let c = cairn(&home);
    // Not set: the backend's default is shown.
    let v = c.run(["config", "show", "--json"]).json();
    assert_eq!(v["store_synchronous"], "normal");
    home.write_config("model = \"openai:gpt-4.1\"\n\n[store]\nsynchronous = \"full\"\n");
    let v = c.run(["config", "show", "--json"]).json();
    assert_eq!(v["store_synchronous"], "full");
    let shown: toml::Value = toml::from_str(&c.run(["config", "show"]).stdout).unwrap();
    assert_eq!(shown["store"]["synchronous"].as_str(), Some("full"));

    // A bad value or an unknown key names the file, the line and the key, and
    // nothing opens the store.
    let file = home.config_file().display().to_string();
    home.write_config("[store]\n# how hard to sync\nsynchronous = \"fast\"\n");
    for args in [vec!["config", "show"], vec!["sessions", "list"]] {
        c.run(&args).code(1).stderr_has(&[
            &file,
            "line 3",
            "store.synchronous",
            "`normal` or `full`",
        ]);
    }
    home.write_config("store.fsync = true\n");
    c.run(["sessions", "list"]).code(1).stderr_has(&[
        &file,
        "line 1",
        "store.fsync",
        "unknown field",
    ]);
    assert!(!home.store_file().exists());
}

/// An empty list that stands for a shipped default is shown as the default in force,
/// and no longer once the person configures their own.
#[test]
fn show_names_the_defaults_in_effect() {
    let home = TestHome::new();
    let c = cairn(&home);
    c.run(["config", "show"]).success().stdout_has(&[
        "# Defaults in effect",
        "compression.pressure_levels: one level at 75% of the model's context window",
        "commands: `reduce` (built in",
    ]);
    let json = c.run(["config", "show", "--json"]).success().json();
    let defaults = json["defaults_in_effect"].as_array().unwrap();
    assert_eq!(defaults.len(), 2, "{defaults:?}");

    home.write_config(
        "[[compression.pressure_levels]]\nthreshold = 50000\ntarget_ratio = 3.0\n\
         [[commands]]\nname = \"reduce\"\ndescription = \"mine\"\nprompt = \"shorter {context}\"\n",
    );
    let json = c.run(["config", "show", "--json"]).success().json();
    assert_eq!(json["defaults_in_effect"], serde_json::json!([]));
}
