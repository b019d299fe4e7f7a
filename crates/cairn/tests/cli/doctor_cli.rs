//! `cairn doctor` through the real binary: every area checked, keys never printed,
//! the exit code saying whether all is well, other tools' configs read as they are.

use std::path::Path;

use cairn_testkit::cli::Cairn;
use cairn_testkit::fake_llm::FakeLlm;
use cairn_testkit::home::TestHome;

const BIN: &str = env!("CARGO_BIN_EXE_cairn");

fn cairn(home: &TestHome) -> Cairn {
    Cairn::new(BIN, home)
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_fresh_machine_is_well_with_a_warning_and_no_store_is_created() {
    let home = TestHome::new();
    let out = cairn(&home).run(["doctor", "--offline"]);
    out.success().stdout_has(&[
        "store",
        "not created yet",
        "absent (defaults apply)",
        "openai: not configured",
        "no provider is usable",
        "disk",
        "free",
        "no Claude Code, Codex or Cursor config runs cairn",
        "All is well, with",
    ]);
    assert!(!home.store_file().exists(), "doctor created the store");
}

#[test]
fn a_reachable_provider_passes_and_its_key_is_never_shown() {
    let home = TestHome::new();
    let fake = FakeLlm::start([]).unwrap();
    let c = cairn(&home)
        .env("OPENAI_API_KEY", "sk-secret-doctor-123")
        .env("OPENAI_BASE_URL", fake.openai_base_url());
    let out = c.run(["doctor"]);
    out.success().stdout_has(&["openai: key set", "reachable"]);
    assert!(!out.stdout.contains("sk-secret-doctor-123"));
    assert!(!out.stderr.contains("sk-secret-doctor-123"));

    let json = c.run(["doctor", "--json"]).success().json();
    assert_eq!(json["ok"], true);
    let openai = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["detail"].as_str().unwrap().starts_with("openai:"))
        .unwrap();
    assert_eq!(openai["status"], "ok");
    assert_eq!(openai["area"], "provider");
}

#[test]
fn an_unreachable_provider_fails_the_run() {
    let home = TestHome::new();
    // A port nothing listens on: bind, note it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = cairn(&home)
        .env("OPENAI_API_KEY", "k")
        .env("OPENAI_BASE_URL", format!("http://127.0.0.1:{port}/v1"))
        .run(["doctor"]);
    out.code(1)
        .stdout_has(&["FAIL", "openai", "unreachable", "1 check(s) failed"])
        .stderr_has(&["doctor check(s) failed"]);
}

#[test]
fn mcp_client_configs_are_matched_against_this_binary_and_home() {
    let home = TestHome::new();
    let this = Path::new(BIN).canonicalize().unwrap();
    let cairn_home = home.cairn_home.display().to_string();
    // Claude Code: this binary, this home (under a project, as Claude Code keeps them).
    write(
        &home.user_home.join(".claude.json"),
        &format!(
            r#"{{"projects":{{"/src/api":{{"mcpServers":{{"cairn":{{"type":"stdio","command":"{}","args":["mcp"],"env":{{"CAIRN_HOME":"{cairn_home}"}}}}}}}}}}}}"#,
            this.display()
        ),
    );
    // Codex: this binary, another home.
    write(
        &home.user_home.join(".codex/config.toml"),
        &format!(
            "[mcp_servers.cairn]\ncommand = \"{}\"\nargs = [\"mcp\"]\nenv = {{ CAIRN_HOME = \"/elsewhere/cairn\" }}\n",
            this.display()
        ),
    );
    // Cursor: another cairn build.
    write(
        &home.user_home.join(".cursor/mcp.json"),
        r#"{"mcpServers":{"old-cairn":{"command":"/opt/old/bin/cairn","args":["mcp"]},"other":{"command":"npx","args":["x"]}}}"#,
    );
    let out = cairn(&home).run(["doctor", "--offline"]);
    out.success().stdout_has(&[
        "Claude Code `cairn`",
        "runs this cairn with this store",
        "Codex `cairn`",
        "uses CAIRN_HOME /elsewhere/cairn",
        "Cursor `old-cairn`",
        "runs `/opt/old/bin/cairn`",
    ]);
    assert!(!out.stdout.contains("`other`"), "{}", out.stdout);
}

#[test]
fn a_broken_client_config_is_a_warning_that_names_the_file() {
    let home = TestHome::new();
    write(&home.user_home.join(".cursor/mcp.json"), "{not json");
    write(&home.user_home.join(".codex/config.toml"), "[mcp_servers\n");
    cairn(&home)
        .run(["doctor", "--offline"])
        .success()
        .stdout_has(&[
            ".cursor/mcp.json is not valid JSON",
            ".codex/config.toml is not valid TOML",
        ]);
}
