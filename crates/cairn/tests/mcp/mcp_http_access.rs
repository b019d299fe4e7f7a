//! Who may use `cairn mcp --http`: a private token by default (loopback is
//! not private on a shared machine), `--no-token` to opt out, and the Host
//! check knowing the address it is bound to.

use cairn_testkit::home::TestHome;
use cairn_testkit::mcp_http::McpHttpServer;

const CAIRN: &str = env!("CARGO_BIN_EXE_cairn");

#[test]
fn loopback_without_a_token_flag_uses_a_private_token_file() {
    let home = TestHome::new();
    let server = McpHttpServer::start(CAIRN, &home, "127.0.0.1:0", None, &[]);
    let anonymous = server.initialize("nobody");
    assert_eq!(anonymous.status, 401, "{anonymous:?}");
    let file = home.cairn_home.join("http-token");
    let token = std::fs::read_to_string(&file).expect("the token file exists");
    let token = token.trim();
    assert!(token.len() >= 32, "{token:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "token file mode {mode:o}");
    }
    let authorised = server.post(
        &cairn_testkit::mcp_http::initialize_body("owner"),
        &[("Authorization", &format!("Bearer {token}"))],
    );
    assert_eq!(authorised.status, 200, "{authorised:?}");
    let said = server.stderr.lock().unwrap().join("\n");
    assert!(said.contains("http-token"), "{said}");
    drop(server);
    // A restart keeps the same token: configured clients keep working.
    let again = McpHttpServer::start(CAIRN, &home, "127.0.0.1:0", None, &[]);
    let reply = again.post(
        &cairn_testkit::mcp_http::initialize_body("owner"),
        &[("Authorization", &format!("Bearer {token}"))],
    );
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[test]
fn no_token_opts_out_on_loopback_only() {
    let home = TestHome::new();
    let server = McpHttpServer::start(CAIRN, &home, "127.0.0.1:0", None, &["--no-token"]);
    assert_eq!(server.initialize("anyone").status, 200);
    assert!(!home.cairn_home.join("http-token").exists());
    let refused = std::process::Command::new(CAIRN)
        .args(["mcp", "--http", "0.0.0.0:0", "--no-token"])
        .current_dir(&home.project)
        .env("CAIRN_HOME", &home.cairn_home)
        .env("HOME", &home.user_home)
        .env_remove("CAIRN_TOKEN")
        .output()
        .expect("run cairn");
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("token"));
}

#[test]
fn the_bound_loopback_address_is_an_accepted_host() {
    let home = TestHome::new();
    let server = McpHttpServer::start(CAIRN, &home, "127.0.0.2:0", Some("t0ken"), &[]);
    let port = server.addr.port();
    for host in [format!("127.0.0.2:{port}"), format!("localhost:{port}")] {
        let reply = server.post(
            &cairn_testkit::mcp_http::initialize_body("c"),
            &[("Host", &host)],
        );
        assert_eq!(reply.status, 200, "Host {host}: {reply:?}");
    }
    let foreign = server.post(
        &cairn_testkit::mcp_http::initialize_body("c"),
        &[("Host", &format!("evil.example:{port}"))],
    );
    assert!(
        foreign.status == 403 || foreign.status == 400,
        "{foreign:?}"
    );
}
