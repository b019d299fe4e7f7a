//! The replay of the pool's signal log: who holds which topic, what is blocked or
//! handed off, and where two holders' files overlap (rules in `pool_status.rs`).

use std::collections::{BTreeMap, HashMap};

use cairn_core::store::PoolInstance;
use cairn_core::{PoolAction, PoolSignal, Project, Timestamp};

use crate::pool_status::{
    ActiveInstance, Blocker, CompletedTopic, ExpiredHold, FileConflict, Handoff, Message,
    OpenTopic, PoolStatus, RECENT_LIMIT, RECENT_SECS, TopicState,
};

struct Track {
    open: Option<OpenTopic>,
    /// The state to return to on `unblocked`.
    before_block: TopicState,
    blocker: Option<Blocker>,
    handoff: Option<Handoff>,
}

/// Compute the pool status from signals (any order) and instances.
pub fn compute(
    project: Option<Project>,
    signals: &[PoolSignal],
    instances: &[PoolInstance],
    now: Timestamp,
    ttl_secs: u64,
) -> PoolStatus {
    let ttl = i64::try_from(ttl_secs).unwrap_or(i64::MAX);
    let mut ordered: Vec<&PoolSignal> = signals.iter().collect();
    ordered.sort_by_key(|s| (s.created_at, s.id));

    // When each (project, instance) was last heard from: the instance table,
    // raised by any later signal.
    let mut last_seen: HashMap<(Project, String), Timestamp> = HashMap::new();
    let mut clients: HashMap<(Project, String), Option<String>> = HashMap::new();
    for instance in instances {
        let key = (instance.project.clone(), instance.instance.clone());
        bump(&mut last_seen, key.clone(), instance.last_seen);
        clients.insert(key, instance.client.clone());
    }
    for signal in &ordered {
        bump(
            &mut last_seen,
            (signal.project.clone(), signal.instance.clone()),
            signal.created_at,
        );
    }

    let mut tracks: BTreeMap<(Project, String), Track> = BTreeMap::new();
    // The newest signal time of each instance seen so far in the replay.
    let mut active_at: HashMap<(Project, String), Timestamp> = HashMap::new();
    let mut completed = Vec::new();
    let mut messages = Vec::new();

    for signal in ordered {
        let at = signal.created_at;
        let me = signal.instance.clone();
        let track = tracks
            .entry((signal.project.clone(), signal.topic.clone()))
            .or_insert_with(|| Track {
                open: None,
                before_block: TopicState::Started,
                blocker: None,
                handoff: None,
            });
        // Is the current holder still live at the time of this signal? Live if it
        // sent a signal within the TTL before it, or has been heard from since.
        let holder_live = track.open.as_ref().is_some_and(|open| {
            let key = (open.project.clone(), open.holder.clone());
            let recent = active_at
                .get(&key)
                .is_some_and(|t| at.duration_since(*t).as_secs() <= ttl);
            let seen_later = last_seen.get(&key).is_some_and(|t| *t >= at);
            recent || seen_later
        });
        let held_by_other = track
            .open
            .as_ref()
            .is_some_and(|open| open.holder != me && holder_live);

        match signal.action {
            PoolAction::Claimed | PoolAction::Started => {
                let state = if signal.action == PoolAction::Claimed {
                    TopicState::Claimed
                } else {
                    TopicState::Started
                };
                if held_by_other {
                    if let Some(open) = track.open.as_mut()
                        && !open.contested_by.contains(&me)
                    {
                        open.contested_by.push(me.clone());
                    }
                } else {
                    match track.open.as_mut().filter(|open| open.holder == me) {
                        // The holder moving on (claimed → started) keeps its hold.
                        Some(open) => {
                            open.state = state;
                            open.since = at;
                            refresh(open, signal);
                        }
                        None => track.open = Some(open_topic(signal, state, at)),
                    }
                    track.blocker = None;
                    track.handoff = None;
                }
            }
            PoolAction::Progress => match track.open.as_mut() {
                Some(open) if open.holder == me || !holder_live => {
                    open.holder = me.clone();
                    refresh(open, signal);
                }
                Some(_) => {}
                None => {
                    track.open = Some(open_topic(signal, TopicState::Started, at));
                    track.handoff = None;
                }
            },
            PoolAction::Blocked => {
                match track.open.as_mut() {
                    Some(open) => {
                        if open.state != TopicState::Blocked {
                            track.before_block = open.state;
                        }
                        if open.holder == me || !holder_live {
                            open.holder = me.clone();
                            refresh(open, signal);
                        }
                        open.state = TopicState::Blocked;
                        open.since = at;
                    }
                    None => {
                        track.before_block = TopicState::Started;
                        track.open = Some(open_topic(signal, TopicState::Blocked, at));
                        track.handoff = None;
                    }
                }
                track.blocker = Some(Blocker {
                    project: signal.project.clone(),
                    topic: signal.topic.clone(),
                    instance: me.clone(),
                    summary: signal.summary.clone(),
                    since: at,
                });
            }
            PoolAction::Unblocked => {
                if let Some(open) = track.open.as_mut()
                    && open.state == TopicState::Blocked
                {
                    open.state = track.before_block;
                    open.since = at;
                    if open.holder == me {
                        refresh(open, signal);
                    }
                }
                track.blocker = None;
            }
            PoolAction::Completed => {
                track.open = None;
                track.blocker = None;
                track.handoff = None;
                completed.push(CompletedTopic {
                    project: signal.project.clone(),
                    topic: signal.topic.clone(),
                    instance: me.clone(),
                    summary: signal.summary.clone(),
                    completed_at: at,
                });
            }
            PoolAction::Released | PoolAction::Handoff => {
                if !held_by_other {
                    let affects = track
                        .open
                        .take()
                        .map(|open| open.affects)
                        .unwrap_or_default();
                    track.blocker = None;
                    track.handoff = (signal.action == PoolAction::Handoff).then(|| Handoff {
                        project: signal.project.clone(),
                        topic: signal.topic.clone(),
                        from: me.clone(),
                        notes: signal.summary.clone(),
                        affects: if signal.affects.is_empty() {
                            affects
                        } else {
                            signal.affects.clone()
                        },
                        at,
                    });
                }
            }
            PoolAction::Signaling => messages.push(Message {
                project: signal.project.clone(),
                topic: signal.topic.clone(),
                instance: me.clone(),
                summary: signal.summary.clone(),
                at,
            }),
        }
        active_at.insert((signal.project.clone(), me), at);
    }

    // Holders silent for longer than the TTL lose their topics.
    let is_live = |project: &Project, instance: &str| {
        last_seen
            .get(&(project.clone(), instance.to_owned()))
            .is_some_and(|t| now.duration_since(*t).as_secs() <= ttl)
    };
    let mut open_topics = Vec::new();
    let mut blockers = Vec::new();
    let mut handoffs = Vec::new();
    let mut expired = Vec::new();
    for track in tracks.into_values() {
        if let Some(handoff) = track.handoff {
            handoffs.push(handoff);
        }
        let Some(open) = track.open else { continue };
        if is_live(&open.project, &open.holder) {
            if let Some(blocker) = track.blocker {
                blockers.push(blocker);
            }
            open_topics.push(open);
        } else {
            let seen = last_seen
                .get(&(open.project.clone(), open.holder.clone()))
                .copied()
                .unwrap_or(open.since);
            expired.push(ExpiredHold {
                project: open.project,
                topic: open.topic,
                holder: open.holder,
                last_seen: seen,
            });
        }
    }
    open_topics.sort_by(|a, b| (&a.project, a.held_since).cmp(&(&b.project, b.held_since)));
    blockers.sort_by_key(|b| b.since);

    let recent = |t: Timestamp| now.duration_since(t).as_secs() <= RECENT_SECS;
    let mut recently_completed: Vec<CompletedTopic> = completed
        .into_iter()
        .filter(|c| recent(c.completed_at))
        .collect();
    recently_completed.sort_by_key(|c| std::cmp::Reverse(c.completed_at));
    recently_completed.truncate(RECENT_LIMIT);
    handoffs.sort_by_key(|h| std::cmp::Reverse(h.at));
    handoffs.truncate(RECENT_LIMIT);
    messages.retain(|m| recent(m.at));
    messages.sort_by_key(|m| std::cmp::Reverse(m.at));
    messages.truncate(RECENT_LIMIT);
    expired
        .retain(|e| now.duration_since(e.last_seen).as_secs() <= ttl.saturating_add(RECENT_SECS));

    let mut active: Vec<ActiveInstance> = last_seen
        .iter()
        .filter(|((project, instance), _)| is_live(project, instance))
        .map(|((project, instance), seen)| ActiveInstance {
            project: project.clone(),
            instance: instance.clone(),
            client: clients
                .get(&(project.clone(), instance.clone()))
                .cloned()
                .flatten(),
            last_seen: *seen,
        })
        .collect();
    active.sort_by(|a, b| {
        b.last_seen
            .cmp(&a.last_seen)
            .then(a.instance.cmp(&b.instance))
    });

    let conflicts = file_conflicts(&open_topics);
    PoolStatus {
        project,
        generated_at: now,
        ttl_secs,
        instances: active,
        open_topics,
        blockers,
        handoffs,
        recently_completed,
        expired,
        messages,
        conflicts,
    }
}

fn bump(map: &mut HashMap<(Project, String), Timestamp>, key: (Project, String), t: Timestamp) {
    let slot = map.entry(key).or_insert(t);
    if t > *slot {
        *slot = t;
    }
}

fn open_topic(signal: &PoolSignal, state: TopicState, held_since: Timestamp) -> OpenTopic {
    OpenTopic {
        project: signal.project.clone(),
        topic: signal.topic.clone(),
        state,
        holder: signal.instance.clone(),
        since: signal.created_at,
        held_since,
        summary: signal.summary.clone(),
        affects: signal.affects.clone(),
        session_id: signal.session_id.clone(),
        contested_by: Vec::new(),
        author: signal.author.clone(),
    }
}

/// A later signal of the holder updates what the topic says; an empty
/// `affects` keeps the files named before.
fn refresh(open: &mut OpenTopic, signal: &PoolSignal) {
    open.summary = signal.summary.clone();
    if signal.author.is_some() {
        open.author = signal.author.clone();
    }
    if !signal.affects.is_empty() {
        open.affects = signal.affects.clone();
        // The paths are the signaller's: read them against its checkout.
        open.project = signal.project.clone();
    }
    if signal.session_id.is_some() {
        open.session_id = signal.session_id.clone();
    }
}

/// Every pair of open topics of different holders in one project whose
/// `affects` overlap.
pub fn file_conflicts(open_topics: &[OpenTopic]) -> Vec<FileConflict> {
    let mut conflicts = Vec::new();
    for (i, a) in open_topics.iter().enumerate() {
        for b in &open_topics[i + 1..] {
            if a.project != b.project || a.holder == b.holder {
                continue;
            }
            // Each side's absolute paths are relative to its own checkout: two
            // checkouts of one repository (one project key) may sit at two paths.
            if let Some((path_a, path_b)) =
                first_overlap((&a.project, &a.affects), (&b.project, &b.affects))
            {
                conflicts.push(
                    FileConflict {
                        project: a.project.clone(),
                        topic_a: a.topic.clone(),
                        instance_a: a.holder.clone(),
                        path_a,
                        topic_b: b.topic.clone(),
                        instance_b: b.holder.clone(),
                        path_b,
                        warning: String::new(),
                    }
                    .described(),
                );
            }
        }
    }
    conflicts
}

/// The conflicts that involve `topic` held by `instance`, with that topic
/// always on the `a` side.
pub fn conflicts_involving(status: &PoolStatus, instance: &str, topic: &str) -> Vec<FileConflict> {
    status
        .conflicts
        .iter()
        .filter_map(|c| {
            if c.instance_a == instance && c.topic_a == topic {
                Some(c.clone())
            } else if c.instance_b == instance && c.topic_b == topic {
                Some(
                    FileConflict {
                        project: c.project.clone(),
                        topic_a: c.topic_b.clone(),
                        instance_a: c.instance_b.clone(),
                        path_a: c.path_b.clone(),
                        topic_b: c.topic_a.clone(),
                        instance_b: c.instance_a.clone(),
                        path_b: c.path_a.clone(),
                        warning: String::new(),
                    }
                    .described(),
                )
            } else {
                None
            }
        })
        .collect()
}

fn first_overlap(
    (project_a, a): (&Project, &[String]),
    (project_b, b): (&Project, &[String]),
) -> Option<(String, String)> {
    let b_norm: Vec<(String, Vec<String>)> = b
        .iter()
        .map(|path| (path.clone(), path_components(project_b, path)))
        .collect();
    for path_a in a {
        let ca = path_components(project_a, path_a);
        for (path_b, cb) in &b_norm {
            if components_overlap(&ca, cb) {
                return Some((path_a.clone(), path_b.clone()));
            }
        }
    }
    None
}

/// Whether two paths name the same file or one is a folder holding the other.
/// Relative paths are relative to the project root; absolute paths inside the
/// project are made relative to it. A glob counts from its first wildcard's folder.
pub fn paths_overlap(project: &Project, a: &str, b: &str) -> bool {
    components_overlap(&path_components(project, a), &path_components(project, b))
}

fn components_overlap(a: &[String], b: &[String]) -> bool {
    let shorter = a.len().min(b.len());
    a[..shorter] == b[..shorter]
}

fn path_components(project: &Project, path: &str) -> Vec<String> {
    let path = path.trim().replace('\\', "/");
    let root = project.as_str().trim_end_matches('/');
    let relative = match path.strip_prefix(root) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest.to_owned(),
        _ => path,
    };
    let mut parts: Vec<String> = Vec::new();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ if part.contains(['*', '?', '[', '{']) => break,
            _ => parts.push(part.to_owned()),
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> Project {
        Project::from_stored("/work/app")
    }

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    fn signal(
        id: i64,
        at: i64,
        who: &str,
        action: PoolAction,
        topic: &str,
        affects: &[&str],
    ) -> PoolSignal {
        PoolSignal {
            id,
            project: project(),
            topic: topic.into(),
            action,
            summary: format!("{} {topic}", action.as_str()),
            affects: affects.iter().map(|s| s.to_string()).collect(),
            instance: who.into(),
            session_id: None,
            created_at: t(at),
            expires_at: None,
            author: None,
        }
    }

    fn seen(who: &str, at: i64) -> PoolInstance {
        PoolInstance {
            project: project(),
            instance: who.into(),
            client: Some("test".into()),
            last_seen: t(at),
        }
    }

    #[test]
    fn overlap_is_same_path_or_folder_holding_the_other() {
        let p = project();
        assert!(paths_overlap(&p, "src/auth.rs", "./src/auth.rs"));
        assert!(paths_overlap(&p, "src/", "src/auth/login.rs"));
        assert!(paths_overlap(&p, "/work/app/src/auth", "src/auth/token.rs"));
        assert!(paths_overlap(&p, "src/**/*.rs", "src/db.rs"));
        assert!(!paths_overlap(&p, "src/auth.rs", "src/auth.rs.bak"));
        assert!(!paths_overlap(&p, "src/auth", "src/authz"));
        assert!(!paths_overlap(&p, "docs/a.md", "src/a.md"));
    }

    #[test]
    fn two_checkouts_of_one_repository_conflict_on_the_same_file() {
        let key = "github.com/acme/api";
        let laptop = Project::from_parts("/home/ann/api", key);
        let desktop = Project::from_parts("/srv/bob/src/api-2", key);
        let mut a = signal(
            1,
            0,
            "a",
            PoolAction::Claimed,
            "auth",
            &["/home/ann/api/src/auth.rs"],
        );
        a.project = laptop.clone();
        let mut b = signal(
            2,
            5,
            "b",
            PoolAction::Claimed,
            "login",
            &["/srv/bob/src/api-2/src/"],
        );
        b.project = desktop.clone();
        let instances = vec![
            PoolInstance {
                project: laptop.clone(),
                ..seen("a", 5)
            },
            PoolInstance {
                project: desktop,
                ..seen("b", 5)
            },
        ];
        let s = compute(Some(laptop), &[a, b], &instances, t(10), 3600);
        assert_eq!(s.open_topics.len(), 2);
        assert_eq!(s.conflicts.len(), 1, "{:?}", s.conflicts);
        assert_eq!(s.conflicts[0].path_a, "/home/ann/api/src/auth.rs");
    }

    #[test]
    fn claims_conflicts_blockers_handoff_and_completion() {
        let ttl = 3600;
        let signals = vec![
            signal(1, 0, "a", PoolAction::Claimed, "auth", &["src/auth/"]),
            signal(
                2,
                10,
                "b",
                PoolAction::Claimed,
                "login-form",
                &["src/auth/login.rs"],
            ),
            signal(3, 20, "a", PoolAction::Started, "auth", &[]),
        ];
        let instances = vec![seen("a", 20), seen("b", 10)];
        let s = compute(Some(project()), &signals, &instances, t(30), ttl);
        assert_eq!(s.open_topics.len(), 2);
        let auth = &s.open_topics[0];
        assert_eq!(
            (auth.topic.as_str(), auth.state, auth.holder.as_str()),
            ("auth", TopicState::Started, "a")
        );
        assert_eq!(auth.held_since, t(0));
        assert_eq!(auth.affects, vec!["src/auth/"]);
        assert_eq!(s.conflicts.len(), 1);
        let mine = conflicts_involving(&s, "b", "login-form");
        assert_eq!(mine[0].topic_b, "auth");
        assert_eq!(mine[0].path_a, "src/auth/login.rs");
        // Both sides of a conflict carry its sentence, seen from their side.
        assert_eq!(mine[0].warning, mine[0].describe());
        assert!(
            mine[0].warning.starts_with("`login-form` (b)"),
            "{}",
            mine[0].warning
        );
        assert_eq!(s.conflicts[0].warning, s.conflicts[0].describe());

        let mut more = signals.clone();
        more.push(signal(4, 40, "a", PoolAction::Blocked, "auth", &[]));
        let s = compute(Some(project()), &more, &instances, t(50), ttl);
        assert_eq!(s.blockers.len(), 1);
        assert_eq!(s.blockers[0].summary, "blocked auth");
        assert_eq!(s.open_topics[0].state, TopicState::Blocked);

        more.push(signal(5, 60, "a", PoolAction::Unblocked, "auth", &[]));
        more.push(signal(6, 70, "a", PoolAction::Handoff, "auth", &[]));
        let s = compute(Some(project()), &more, &instances, t(80), ttl);
        assert!(s.blockers.is_empty());
        assert_eq!(s.open_topics.len(), 1);
        assert_eq!(s.handoffs.len(), 1);
        assert_eq!(s.handoffs[0].affects, vec!["src/auth/"]);
        assert!(s.conflicts.is_empty());

        more.push(signal(7, 90, "b", PoolAction::Claimed, "auth", &[]));
        more.push(signal(8, 100, "b", PoolAction::Completed, "auth", &[]));
        let s = compute(Some(project()), &more, &instances, t(110), ttl);
        assert!(s.handoffs.is_empty());
        assert_eq!(s.recently_completed[0].topic, "auth");
        assert_eq!(s.recently_completed[0].instance, "b");
        assert_eq!(s.open_topics.len(), 1);
        assert_eq!(s.open_topics[0].topic, "login-form");
    }

    #[test]
    fn a_claim_on_a_live_holders_topic_is_contested_not_taken() {
        let signals = vec![
            signal(1, 0, "a", PoolAction::Claimed, "db", &[]),
            signal(2, 5, "b", PoolAction::Claimed, "db", &[]),
            signal(3, 6, "b", PoolAction::Released, "db", &[]),
        ];
        let s = compute(Some(project()), &signals, &[seen("a", 6)], t(10), 3600);
        assert_eq!(s.open_topics[0].holder, "a");
        assert_eq!(s.open_topics[0].contested_by, vec!["b"]);
    }

    #[test]
    fn silent_holders_lose_their_topics_after_the_ttl() {
        let signals = vec![
            signal(1, 0, "a", PoolAction::Claimed, "db", &["db/"]),
            signal(2, 5000, "b", PoolAction::Claimed, "db", &["db/"]),
        ];
        // a was silent for more than the TTL when b claimed: b takes it.
        let s = compute(
            Some(project()),
            &signals,
            &[seen("a", 0), seen("b", 5000)],
            t(5001),
            3600,
        );
        assert_eq!(s.open_topics[0].holder, "b");
        assert!(s.instances.iter().all(|i| i.instance != "a"));

        // Nobody else claimed, but the holder went silent: the hold expires.
        let s = compute(
            Some(project()),
            &signals[..1],
            &[seen("a", 0)],
            t(3601),
            3600,
        );
        assert!(s.open_topics.is_empty());
        assert_eq!(s.expired[0].holder, "a");
    }
}
