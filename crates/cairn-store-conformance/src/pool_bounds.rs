//! Pool instances are bounded: clients choose instance ids (and projects), so a
//! flood of new ids must not grow the store without limit.

use cairn_core::Timestamp;
use cairn_core::store::{MAX_POOL_INSTANCES, MAX_POOL_INSTANCES_PER_PROJECT};

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
