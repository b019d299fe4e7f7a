//! The factory opens the backend a URL names, with the settings' options.

use cairn_core::paths::Paths;
use cairn_core::settings::Settings;
use cairn_core::{NewSession, Project, SessionName};
use cairn_store::{StoreUrl, default_url, open_store, resolve_options};

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

    let layer = cairn_core::settings::parse_layer("[store]\nurl = \"x\"\n").unwrap();
    settings.apply(layer);
    let err = resolve_options(&url, &settings).unwrap_err().to_string();
    assert!(
        err.contains("store.url") && err.contains("unknown field"),
        "{err}"
    );
    assert!(open_store(&url, &settings).is_err());
}
