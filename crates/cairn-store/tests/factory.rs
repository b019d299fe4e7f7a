//! The factory opens the backend a URL names, with the settings' options.

use cairn_core::paths::Paths;
use cairn_core::settings::Settings;
use cairn_core::{NewSession, Project, SessionName};
use cairn_store::{StoreUrl, choose_url, default_url, open_store, resolve_options};

#[tokio::test]
async fn a_sqlite_url_opens_that_file_and_the_default_is_the_file_in_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::at(dir.path());
    assert_eq!(default_url(&paths), StoreUrl::Sqlite(paths.store_file()));

    let file = dir.path().join("elsewhere").join("my.db");
    let url = StoreUrl::parse(&format!("sqlite://{}", file.display())).unwrap();
    let settings = Settings::defaults(paths.clone());
    let store = open_store(&url, &settings).unwrap();
    store
        .create_session(NewSession::new(
            SessionName::parse("here").unwrap(),
            Project::from_stored("/p"),
        ))
        .await
        .unwrap();
    assert!(file.exists());
    assert!(!paths.store_file().exists());
}

#[test]
fn backend_options_are_resolved_with_defaults_and_unknown_keys_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::defaults(Paths::at(dir.path()));
    let url = default_url(&settings.paths);
    let resolved = resolve_options(&url, &settings).unwrap();
    assert_eq!(resolved["synchronous"].as_str(), Some("normal"));

    let layer = cairn_core::settings::parse_layer("[store]\nsynchronous = \"full\"\n").unwrap();
    settings.apply(layer);
    let resolved = resolve_options(&url, &settings).unwrap();
    assert_eq!(resolved["synchronous"].as_str(), Some("full"));

    let layer = cairn_core::settings::parse_layer("[store]\nwal = \"x\"\n").unwrap();
    settings.apply(layer);
    let err = resolve_options(&url, &settings).unwrap_err().to_string();
    assert!(
        err.contains("store.wal") && err.contains("unknown field"),
        "{err}"
    );
    assert!(open_store(&url, &settings).is_err());
}

#[test]
fn the_flag_wins_over_the_environment_which_wins_over_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::defaults(Paths::at(dir.path()));
    assert_eq!(
        choose_url(None, None, &settings).unwrap(),
        default_url(&settings.paths)
    );
    let layer = cairn_core::settings::parse_layer(
        "[store]\nurl = \"postgres://me:hunter2@config.example/cairn\"\n",
    )
    .unwrap();
    settings.apply(layer);
    let from_config = choose_url(None, None, &settings).unwrap();
    assert_eq!(
        from_config.connection_url(),
        "postgres://me:hunter2@config.example/cairn"
    );
    let from_env = choose_url(None, Some("postgresql://env.example/cairn"), &settings).unwrap();
    assert_eq!(from_env.connection_url(), "postgresql://env.example/cairn");
    let from_flag = choose_url(
        Some("sqlite:///tmp/flag.db"),
        Some("postgresql://env.example/cairn"),
        &settings,
    )
    .unwrap();
    assert_eq!(from_flag, StoreUrl::Sqlite("/tmp/flag.db".into()));
    // An empty variable is no choice.
    assert_eq!(choose_url(None, Some(""), &settings).unwrap(), from_config);

    // The URL is shown with the options, password hidden, and is no backend key.
    let resolved = resolve_options(&from_config, &settings).unwrap();
    assert_eq!(
        resolved["url"].as_str(),
        Some("postgres://me:***@config.example/cairn")
    );
    assert_eq!(resolved.len(), 1, "{resolved:?}");
}

#[test]
fn a_bad_url_names_where_it_came_from_and_never_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::defaults(Paths::at(dir.path()));
    let err = choose_url(Some("mysql://me:hunter2@db/x"), None, &settings)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("--store: ") && err.contains("unsupported scheme"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    let err = choose_url(None, Some("cairn.db"), &settings)
        .unwrap_err()
        .to_string();
    assert!(err.contains("CAIRN_STORE_URL"), "{err}");

    let config = dir.path().join("config.toml");
    std::fs::write(&config, "model = \"x:y\"\n[store]\nurl = 5\n").unwrap();
    let settings = Settings::load(Paths::at(dir.path()), None).unwrap();
    let err = choose_url(None, None, &settings).unwrap_err().to_string();
    assert!(
        err.contains("config.toml") && err.contains("line 3"),
        "{err}"
    );
    assert!(
        err.contains("store.url") && err.contains("expected a string"),
        "{err}"
    );

    // A PostgreSQL store takes no SQLite option: the key is named.
    let mut settings = Settings::defaults(Paths::at(dir.path()));
    let layer = cairn_core::settings::parse_layer("[store]\nsynchronous = \"full\"\n").unwrap();
    settings.apply(layer);
    let url = StoreUrl::parse("postgres://db.example/cairn").unwrap();
    let err = resolve_options(&url, &settings).unwrap_err().to_string();
    assert!(
        err.contains("store.synchronous") && err.contains("PostgreSQL"),
        "{err}"
    );
}
