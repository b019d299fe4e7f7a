//! Pool instances are bounded: clients choose instance ids (and projects), so a
//! flood of new ids must not grow the store without limit. The bound of a project
//! is per project key (every checkout of one repository), and holds against
//! writers at once.

use cairn_core::store::{MAX_POOL_INSTANCES, MAX_POOL_INSTANCES_PER_PROJECT};
use cairn_core::{Project, Timestamp};

use crate::Fixture;
use crate::support::*;

fn names(instances: &[cairn_core::store::PoolInstance]) -> Vec<&str> {
    instances.iter().map(|i| i.instance.as_str()).collect()
}

pub async fn a_project_keeps_its_most_recently_seen_instances(t: Fixture) {
    let before = Timestamp::now() - jiff::SignedDuration::from_secs(1);
    let (one, two) = (project("/p/one"), project("/p/two"));
    t.store.touch_instance(&two, "other", None).await.unwrap();
    for n in 0..MAX_POOL_INSTANCES_PER_PROJECT {
        let id = format!("i{n:05}");
        t.store.touch_instance(&one, &id, None).await.unwrap();
    }
    // At the bound, touching a known instance drops nothing and makes it the newest.
    t.store.touch_instance(&one, "i00000", None).await.unwrap();
    let seen = t.store.pool_instances(Some(&one), before).await.unwrap();
    assert_eq!(seen.len(), MAX_POOL_INSTANCES_PER_PROJECT);
    assert_eq!(seen[0].instance, "i00000");

    // A new instance drops the least recently seen one of its project only.
    t.store.touch_instance(&one, "new", None).await.unwrap();
    let seen = t.store.pool_instances(Some(&one), before).await.unwrap();
    assert_eq!(seen.len(), MAX_POOL_INSTANCES_PER_PROJECT);
    let kept = names(&seen);
    assert_eq!(kept[..2], ["new", "i00000"]);
    assert!(!kept.contains(&"i00001"), "the least recently seen stays");
    assert!(kept.contains(&"i00002"));
    let other = t.store.pool_instances(Some(&two), before).await.unwrap();
    assert_eq!(names(&other), ["other"]);
}

pub async fn the_store_keeps_its_most_recently_seen_instances_over_all_projects(t: Fixture) {
    let before = Timestamp::now() - jiff::SignedDuration::from_secs(1);
    // Spread over projects so that no project reaches its own bound.
    let per_project = MAX_POOL_INSTANCES_PER_PROJECT / 2;
    let total = MAX_POOL_INSTANCES + 3;
    for n in 0..total {
        let p = project(&format!("/p/{}", n / per_project));
        t.store
            .touch_instance(&p, &format!("i{n:06}"), None)
            .await
            .unwrap();
    }
    let seen = t.store.pool_instances(None, before).await.unwrap();
    assert_eq!(seen.len(), MAX_POOL_INSTANCES);
    let kept = names(&seen);
    assert_eq!(kept[0], format!("i{:06}", total - 1));
    for dropped in ["i000000", "i000001", "i000002"] {
        assert!(
            !kept.contains(&dropped),
            "{dropped} was the least recently seen"
        );
    }
    assert!(kept.contains(&"i000003"));
}

pub async fn a_project_key_keeps_its_most_recently_seen_instances_over_its_checkouts(t: Fixture) {
    let before = Timestamp::now() - jiff::SignedDuration::from_secs(1);
    let key = "github.com/acme/api";
    let checkouts = [
        Project::from_parts("/laptop/api", key),
        Project::from_parts("/desktop/src/api-2", key),
    ];
    // Alternating checkouts: neither path alone reaches the bound, the key does.
    for n in 0..=MAX_POOL_INSTANCES_PER_PROJECT {
        let id = format!("i{n:05}");
        t.store
            .touch_instance(&checkouts[n % 2], &id, None)
            .await
            .unwrap();
    }
    let seen = t
        .store
        .pool_instances(Some(&checkouts[0]), before)
        .await
        .unwrap();
    assert_eq!(seen.len(), MAX_POOL_INSTANCES_PER_PROJECT);
    assert!(
        !names(&seen).contains(&"i00000"),
        "the least recently seen stays"
    );
    assert_eq!(
        seen[0].instance,
        format!("i{MAX_POOL_INSTANCES_PER_PROJECT:05}")
    );
}

pub async fn new_instances_at_once_stay_bounded(t: Fixture) {
    let before = Timestamp::now() - jiff::SignedDuration::from_secs(1);
    let p = project("/p/flood");
    const WRITERS: usize = 16;
    let per_writer = MAX_POOL_INSTANCES_PER_PROJECT / 10;
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let store = std::sync::Arc::clone(&t.store);
        let p = p.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..per_writer {
                store
                    .touch_instance(&p, &format!("w{w:02}-{n:04}"), None)
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // Each writer trims after its own insert; those in flight at once may each
    // miss the others' newest rows, never more.
    let seen = t.store.pool_instances(Some(&p), before).await.unwrap();
    assert!(WRITERS * per_writer > MAX_POOL_INSTANCES_PER_PROJECT);
    assert!(
        seen.len() <= MAX_POOL_INSTANCES_PER_PROJECT + WRITERS,
        "{} instances",
        seen.len()
    );
    // The next new instance trims back to the bound.
    t.store.touch_instance(&p, "last", None).await.unwrap();
    let seen = t.store.pool_instances(Some(&p), before).await.unwrap();
    assert_eq!(seen.len(), MAX_POOL_INSTANCES_PER_PROJECT);
}
