//! Projects across machines, through the real binary: two checkouts of one
//! repository at different paths (same `origin`, spelled differently) are one
//! project — `--resume-recent`, `sessions list` and the pool see one project,
//! and the path each row was written from stays shown. On PostgreSQL the two
//! checkouts are on two machines (two homes, one database); on SQLite they are
//! two checkouts on one machine. Four `cairn run` processes on each of two
//! machines write at once: nothing is lost, doubled or out of order.

use std::path::{Path, PathBuf};
use std::process::Command;

use cairn_testkit::cli::Cairn;
use cairn_testkit::fake_llm::{FakeLlm, Turn};
use cairn_testkit::home::TestHome;
use cairn_testkit::postgres::fresh_database;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_cairn");

/// Makes `dir` a git checkout whose `origin` is `url` (never contacted).
fn checkout(home: &TestHome, dir: &Path, url: &str) {
    std::fs::create_dir_all(dir).unwrap();
    for args in [
        &["init", "--quiet"][..],
        &["remote", "add", "origin", url][..],
    ] {
        let status = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("HOME", &home.user_home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .status()
            .expect("run git");
        assert!(status.success(), "git {args:?}");
    }
}

struct Machine {
    cairn: Cairn,
    checkout: PathBuf,
}

impl Machine {
    fn instance(&self, name: &str) -> Cairn {
        self.cairn.clone().env("CAIRN_INSTANCE", name)
    }
}

fn sessions_listed(machine: &Machine) -> Vec<(String, String)> {
    machine
        .cairn
        .run(["sessions", "list", "--json"])
        .success()
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["project"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The scenario on two machines (or two checkouts of one machine): the laptop
/// starts a session, the desktop resumes it and both work in one pool.
fn one_project_from_two_checkouts(laptop: Machine, desktop: Machine, env: &[(&str, &str)]) {
    let fake = FakeLlm::start([Turn::text("noted"), Turn::text("welcome back")]).unwrap();
    let with = |c: &Cairn| with_env(c.clone().with_fake_openai(&fake), env);
    with(&laptop.cairn)
        .run(["run", "--name", "auth-work", "-p", "hello from the laptop"])
        .success();

    // The desktop's checkout is another path; its --resume-recent finds the
    // laptop's session, and the request carries the laptop's history.
    with(&desktop.cairn)
        .run(["run", "--resume-recent", "-p", "where was I?"])
        .success()
        .stderr_has(&["session auth-work"]);
    let resumed = &fake.requests()[1].body;
    assert!(
        resumed.to_string().contains("hello from the laptop"),
        "{resumed}"
    );
    let laptop_path = laptop.checkout.to_string_lossy().into_owned();
    assert_eq!(
        sessions_listed(&desktop),
        [("auth-work".to_owned(), laptop_path.clone())]
    );

    // One pool: an instance on each checkout; their claims overlap on one file,
    // named by an absolute path on the laptop and a relative one on the desktop.
    let affects = format!("{laptop_path}/src/auth.rs");
    let ann = with_env(laptop.instance("ann"), env);
    ann.run([
        "pool",
        "signal",
        "claimed",
        "auth",
        "--summary",
        "token refresh",
        "--affects",
        &affects,
    ])
    .success();
    let bob = with_env(desktop.instance("bob"), env);
    let claim = bob
        .run([
            "pool",
            "signal",
            "claimed",
            "login",
            "--summary",
            "login form",
            "--affects",
            "src/auth.rs",
            "--json",
        ])
        .success()
        .json();
    let conflict = &claim["conflicts"][0];
    assert_eq!(conflict["instance_b"], "ann", "{claim:#}");
    assert_eq!(conflict["path_b"], Value::String(affects.clone()));
    let status = bob.run(["pool", "status", "--json"]).success().json();
    let mut instances: Vec<(String, String)> = status["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["instance"].as_str().unwrap().to_owned(),
                i["project"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    instances.sort();
    assert_eq!(
        instances,
        [
            ("ann".to_owned(), laptop_path),
            (
                "bob".to_owned(),
                desktop.checkout.to_string_lossy().into_owned()
            )
        ]
    );
    assert_eq!(
        status["conflicts"].as_array().unwrap().len(),
        1,
        "{status:#}"
    );
}

fn with_env(mut cairn: Cairn, env: &[(&str, &str)]) -> Cairn {
    for (k, v) in env {
        cairn = cairn.env(k, v);
    }
    cairn
}

#[test]
fn two_checkouts_on_two_machines_are_one_project_on_postgresql() {
    let database = fresh_database();
    let url = database.url.clone();
    let laptop_home = TestHome::new();
    checkout(
        &laptop_home,
        &laptop_home.project,
        "git@github.com:acme/api.git",
    );
    let desktop_home = TestHome::new();
    let desktop_checkout = desktop_home.dir("src/api-2");
    checkout(
        &desktop_home,
        &desktop_checkout,
        "https://ci-bot:s3cret@GitHub.com/acme/api",
    );
    let env = [("CAIRN_STORE_URL", url.as_str())];
    let laptop = Machine {
        cairn: Cairn::new(BIN, &laptop_home).env("USER", "ann"),
        checkout: laptop_home.project.clone(),
    };
    let desktop = Machine {
        cairn: Cairn::new(BIN, &desktop_home)
            .current_dir(&desktop_checkout)
            .env("CAIRN_STORE_URL", &url)
            .env("USER", "bob"),
        checkout: desktop_checkout,
    };
    let desktop_cairn = desktop.cairn.clone();
    one_project_from_two_checkouts(laptop, desktop, &env);

    // Who wrote what: both people wrote to the session; each topic names its author.
    let shown = desktop_cairn
        .run(["sessions", "show", "auth-work", "--json"])
        .success()
        .json();
    let mut authors: Vec<String> = shown["authors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            a["author"]
                .as_str()
                .unwrap()
                .split('@')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    authors.sort();
    assert_eq!(authors, ["ann", "bob"], "{shown:#}");
    desktop_cairn
        .run(["sessions", "show", "auth-work"])
        .success()
        .stdout_has(&["written by:", "bob@", "ann@"]);
    let status = desktop_cairn
        .clone()
        .env("CAIRN_INSTANCE", "bob")
        .run(["pool", "status", "--json"])
        .success()
        .json();
    let mut topic_authors: Vec<(String, String)> = status["open_topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["holder"].as_str().unwrap().to_owned(),
                t["author"]
                    .as_str()
                    .unwrap()
                    .split('@')
                    .next()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect();
    topic_authors.sort();
    assert_eq!(
        topic_authors,
        [
            ("ann".to_owned(), "ann".to_owned()),
            ("bob".to_owned(), "bob".to_owned())
        ]
    );
    // The credentials of the remote URL are no part of the key the store keeps.
    let keys = cairn_testkit::postgres::cluster().psql(
        &database.name,
        "SELECT string_agg(DISTINCT project_key, ',') FROM sessions",
    );
    assert_eq!(keys.trim(), "github.com/acme/api");
}

#[test]
fn two_checkouts_on_one_machine_are_one_project_on_sqlite() {
    let home = TestHome::new();
    checkout(&home, &home.project, "ssh://git@github.com:22/acme/api.git");
    let other = home.dir("elsewhere/api-copy");
    checkout(&home, &other, "https://github.com/acme/api/");
    let laptop = Machine {
        cairn: Cairn::new(BIN, &home),
        checkout: home.project.clone(),
    };
    let desktop = Machine {
        cairn: Cairn::new(BIN, &home).current_dir(&other),
        checkout: other,
    };
    one_project_from_two_checkouts(laptop, desktop, &[]);
}

/// Turns each writer process runs (`--name`, then `--resume`).
const TURNS: usize = 2;

#[test]
fn four_writers_on_each_of_two_machines_lose_nothing_on_postgresql() {
    let database = fresh_database();
    let url = database.url.clone();
    let fake = FakeLlm::start((0..2 * 4 * TURNS).map(|_| Turn::text("ok"))).unwrap();
    let mut machines = Vec::new();
    for (name, origin) in [
        ("laptop", "git@github.com:acme/api.git"),
        ("desktop", "https://github.com/acme/api"),
    ] {
        let home = TestHome::new();
        let dir = home.dir(&format!("{name}/api"));
        checkout(&home, &dir, origin);
        let cairn = Cairn::new(BIN, &home)
            .current_dir(&dir)
            .env("CAIRN_STORE_URL", &url)
            .with_fake_openai(&fake);
        machines.push((name, home, cairn));
    }
    std::thread::scope(|scope| {
        for (machine, _, cairn) in &machines {
            for w in 0..4 {
                let session = format!("{machine}-w{w}");
                scope.spawn(move || {
                    for turn in 0..TURNS {
                        let prompt = format!("{session} turn {turn}");
                        let start = if turn == 0 { "--name" } else { "--resume" };
                        cairn.run(["run", start, &session, "-p", &prompt]).success();
                    }
                });
            }
        }
    });

    // Every session: seqs 1..=n without a gap or a double, each prompt once.
    let rows = cairn_testkit::postgres::cluster().psql(
        &database.name,
        "SELECT s.name, count(*), count(DISTINCT e.seq), min(e.seq), max(e.seq), \
         s.project_key FROM sessions s JOIN events e ON e.session = s.id \
         GROUP BY s.name, s.project_key ORDER BY s.name",
    );
    let rows: Vec<Vec<&str>> = rows.lines().map(|l| l.split('|').collect()).collect();
    assert_eq!(rows.len(), 8, "{rows:?}");
    for row in &rows {
        let [_, count, distinct, min, max, key] = row[..] else {
            panic!("{row:?}")
        };
        assert_eq!((count, distinct, min, max), (max, max, "1", max), "{row:?}");
        assert_eq!(key, "github.com/acme/api");
    }
    let (_, _, desktop) = &machines[1];
    for (machine, _, _) in &machines {
        for w in 0..4 {
            let session = format!("{machine}-w{w}");
            let export = desktop.run(["sessions", "export", &session]);
            export.success();
            for turn in 0..TURNS {
                // The user message (the first prompt is also the title).
                let prompt = format!("\"text\":\"{session} turn {turn}\"");
                assert_eq!(
                    export.stdout.matches(&prompt).count(),
                    1,
                    "{prompt}: {}",
                    export.stdout
                );
            }
        }
    }
    // One project: the desktop lists the laptop's sessions too.
    let listed = desktop.run(["sessions", "list", "--json"]).success().json();
    assert_eq!(listed.as_array().unwrap().len(), 8, "{listed:#}");
}
