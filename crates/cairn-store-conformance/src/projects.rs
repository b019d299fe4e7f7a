//! Projects across machines: two checkouts of one repository (two paths, one
//! key) are one project for every filter, and each row keeps its own path.

use cairn_core::store::SearchScope;
use cairn_core::{
    NewCheckpoint, NewPoolSignal, NewSession, PoolAction, Project, Role, SessionFilter, Timestamp,
};

use crate::Fixture;
use crate::support::*;

const KEY: &str = "github.com/acme/api";

fn laptop() -> Project {
    Project::from_parts("/home/ann/api", KEY)
}

fn desktop() -> Project {
    Project::from_parts("/srv/bob/src/api-2", KEY)
}

pub async fn two_checkouts_of_one_repository_are_one_project(t: Fixture) {
    let store = &t.store;
    let a = store
        .create_session(NewSession::new(name("on-laptop"), laptop()))
        .await
        .unwrap();
    let b = store
        .create_session(NewSession::new(name("on-desktop"), desktop()))
        .await
        .unwrap();
    store
        .create_session(NewSession::new(name("elsewhere"), project("/home/ann/web")))
        .await
        .unwrap();
    store
        .append_events(a.id, vec![text(Role::User, "zebra crossing")])
        .await
        .unwrap();
    store
        .append_events(b.id, vec![text(Role::User, "zebra stripes")])
        .await
        .unwrap();

    // Any checkout (or the bare key) selects both sessions; each keeps its path.
    for filter in [laptop(), desktop(), project(KEY)] {
        let listed = store
            .list_sessions(&SessionFilter {
                project: Some(filter.clone()),
                limit: 0,
                offset: 0,
            })
            .await
            .unwrap();
        let names: Vec<&str> = listed.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["on-desktop", "on-laptop"], "filter {filter}");
        assert_eq!(listed[0].project.as_str(), "/srv/bob/src/api-2");
        assert_eq!(listed[1].project.as_str(), "/home/ann/api");
        assert_eq!(store.count_sessions(Some(&filter)).await.unwrap(), 2);
    }
    let recent = store
        .most_recent_session(Some(&laptop()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(recent.name.as_str(), "on-desktop");
    assert_eq!(recent.project.key(), KEY);
    assert_eq!(recent.project.as_str(), "/srv/bob/src/api-2");

    // Reopened, the key is still there.
    let again = t.reopen.open();
    let session = again.session(&name("on-laptop")).await.unwrap();
    assert_eq!(
        (session.project.as_str(), session.project.key()),
        ("/home/ann/api", KEY)
    );

    let hits = store
        .search(
            "zebra",
            &SearchScope {
                project: Some(desktop()),
                limit: 0,
            },
        )
        .await
        .unwrap();
    assert_eq!(hits.len(), 2);
    assert!(hits.iter().all(|h| h.project.key() == KEY));

    // Checkpoints, pool signals and instances filter by key as well.
    let mut saved = checkpoint("auth", "/unused", None);
    saved.project = laptop();
    let saved: NewCheckpoint = saved;
    store.save_checkpoint(saved).await.unwrap();
    let recent = store
        .recent_checkpoints(Some(&desktop()), 10)
        .await
        .unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].project.as_str(), "/home/ann/api");
    assert_eq!(recent[0].project.key(), KEY);

    for (checkout, instance) in [(laptop(), "ann-1"), (desktop(), "bob-1")] {
        store
            .add_pool_signal(NewPoolSignal {
                project: checkout.clone(),
                topic: format!("topic-{instance}"),
                action: PoolAction::Claimed,
                summary: "working".into(),
                affects: vec!["src/auth.rs".into()],
                instance: instance.into(),
                session_id: None,
                expires_at: None,
            })
            .await
            .unwrap();
        store
            .touch_instance(&checkout, instance, Some("test"))
            .await
            .unwrap();
    }
    let since = Timestamp::UNIX_EPOCH;
    let signals = store.pool_signals(Some(&laptop()), since).await.unwrap();
    let paths: Vec<&str> = signals.iter().map(|s| s.project.as_str()).collect();
    assert_eq!(paths, ["/home/ann/api", "/srv/bob/src/api-2"]);
    let mut instances: Vec<(String, String)> = store
        .pool_instances(Some(&project(KEY)), since)
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.instance, i.project.as_str().to_owned()))
        .collect();
    instances.sort();
    assert_eq!(
        instances,
        [
            ("ann-1".to_owned(), "/home/ann/api".to_owned()),
            ("bob-1".to_owned(), "/srv/bob/src/api-2".to_owned())
        ]
    );
    assert!(
        store
            .pool_signals(Some(&project("/home/ann/web")), since)
            .await
            .unwrap()
            .is_empty()
    );
}
