//! A throwaway PostgreSQL cluster for tests: created and started once per test
//! process (in a temp dir, on a free loopback port), stopped when the process
//! exits, and a fresh database for every test that asks (`CREATE DATABASE` is fast
//! and keeps tests apart). If the cluster cannot start, the test fails with the
//! reason; it never passes by skipping. `scripts/install-test-deps` installs
//! Debian's `postgresql`.
//!
//! PostgreSQL refuses to run as root, so as root `initdb` and `pg_ctl` run as the
//! `postgres` user (created by the Debian package) through `runuser`, in a directory
//! that user owns. Clients connect over TCP to 127.0.0.1 with `trust` auth.
//!
//! Fault tests take a [`private_cluster`] of their own (so stopping or restarting
//! it disturbs no other test); the benchmark harness keeps a durable one in its
//! data directory ([`TestCluster::start_kept`]).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// Where Debian installs the server binaries, newest version first.
const DEBIAN_BIN_GLOB: &str = "/usr/lib/postgresql";
const INSTALL_HINT: &str = "run `scripts/install-test-deps` (it installs Debian's `postgresql`)";
/// The unprivileged user the cluster runs as when tests run as root.
const SERVER_USER: &str = "postgres";

/// The running cluster of this test process.
pub struct TestCluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_root: bool,
    /// The `-o` options of `pg_ctl start` (port, socket dir, settings).
    options: String,
    /// A kept cluster's directory survives it (the benchmark's datasets).
    kept: bool,
}

static CLUSTER: OnceLock<Result<TestCluster, String>> = OnceLock::new();
static NEXT_DATABASE: AtomicU32 = AtomicU32::new(0);

/// A database of its own for one test.
pub struct TestDatabase {
    pub name: String,
    /// `postgres://postgres@127.0.0.1:PORT/NAME`.
    pub url: String,
}

/// The cluster of this process, started on first use. Panics with the reason when
/// it cannot start (the test fails, it is not skipped).
pub fn cluster() -> &'static TestCluster {
    match CLUSTER.get_or_init(|| start(&Settings::throwaway())) {
        Ok(cluster) => cluster,
        Err(reason) => panic!("cannot start the test PostgreSQL cluster: {reason}"),
    }
}

/// A cluster of the caller's own, stopped and removed when the value drops: for
/// tests that stop or restart the server. Panics with the reason when it cannot
/// start.
pub fn private_cluster() -> TestCluster {
    start(&Settings::throwaway())
        .unwrap_or_else(|e| panic!("cannot start a PostgreSQL cluster: {e}"))
}

/// Which store the CLI suites run on: `CAIRN_TEST_STORE=postgres` gives every test
/// home a fresh database of the throwaway cluster (its URL); unset or `sqlite`
/// keeps the SQLite file of the home. Anything else fails the test, naming both.
pub fn store_under_test() -> Option<String> {
    match std::env::var("CAIRN_TEST_STORE").as_deref() {
        Err(_) | Ok("") | Ok("sqlite") => None,
        Ok("postgres") => Some(fresh_database().url),
        Ok(other) => panic!("CAIRN_TEST_STORE={other:?}: expected \"sqlite\" or \"postgres\""),
    }
}

/// A new, empty database on the cluster.
pub fn fresh_database() -> TestDatabase {
    let cluster = cluster();
    let name = format!(
        "cairn_test_{}_{}",
        std::process::id(),
        NEXT_DATABASE.fetch_add(1, Ordering::Relaxed)
    );
    let output = cluster.client("createdb").arg(&name).output();
    check(output, &format!("createdb {name}")).unwrap_or_else(|e| panic!("{e}"));
    TestDatabase {
        url: cluster.url(&name),
        name,
    }
}

impl TestCluster {
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `name` on this cluster.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://{SERVER_USER}@127.0.0.1:{}/{name}", self.port)
    }

    /// A new, empty database on this cluster.
    pub fn create_database(&self, name: &str) -> Result<TestDatabase, String> {
        check(
            self.client("createdb").arg(name).output(),
            &format!("createdb {name}"),
        )?;
        Ok(TestDatabase {
            url: self.url(name),
            name: name.to_owned(),
        })
    }

    /// Drops database `name` if it exists.
    pub fn drop_database(&self, name: &str) -> Result<(), String> {
        check(
            self.client("dropdb").args(["--if-exists", name]).output(),
            &format!("dropdb {name}"),
        )
        .map(drop)
    }

    /// Stops the server (fast shutdown: clients are disconnected, committed data
    /// stays); [`Self::start_server`] starts it again on the same port.
    pub fn stop_server(&self) {
        self.pg_ctl(&["-m", "fast", "-w", "stop"])
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Starts the server stopped by [`Self::stop_server`], on the same port.
    pub fn start_server(&self) {
        let log = self.dir.join("server.log");
        let log = log.to_string_lossy();
        self.pg_ctl(&["-w", "-t", "30", "-o", &self.options, "-l", &log, "start"])
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// `pg_ctl restart` (fast): every client connection is cut, the server comes
    /// back on the same port.
    pub fn restart(&self) {
        self.stop_server();
        self.start_server();
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<String, String> {
        check(
            self.server_command("pg_ctl")
                .arg("-D")
                .arg(self.dir.join("data"))
                .args(args)
                .output(),
            &format!("pg_ctl {}", args.join(" ")),
        )
    }

    /// `psql -c SQL` against database `name`, as the superuser; its stdout.
    pub fn psql(&self, name: &str, sql: &str) -> String {
        let output = self
            .client("psql")
            .args([
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                name,
                "-c",
                sql,
            ])
            .output();
        check(output, &format!("psql {sql:?}")).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A client tool of the cluster's version, connecting to it as the superuser.
    fn client(&self, tool: &str) -> Command {
        let mut command = Command::new(self.bin.join(tool));
        command
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", SERVER_USER])
            .stdin(Stdio::null());
        command
    }

    /// A durable cluster in `dir`, created there on first use and kept after
    /// it stops (fsync and synchronous commit on, as a production server): the
    /// benchmark harness keeps its datasets in it between runs.
    pub fn start_kept(dir: &Path) -> Result<TestCluster, String> {
        start(&Settings {
            dir: Some(dir.to_owned()),
            durable: true,
        })
    }

    /// The directory of the cluster (its data, socket and `server.log`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn stop(&self) {
        // A kept cluster shuts down cleanly; a throwaway one is about to be removed.
        let mode = if self.kept { "fast" } else { "immediate" };
        let _ = self
            .server_command("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", mode, "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !self.kept {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// A server tool, run as the unprivileged user when we are root.
    fn server_command(&self, tool: &str) -> Command {
        server_command(&self.bin, tool, self.as_root)
    }
}

impl Drop for TestCluster {
    /// Private and kept clusters stop with their value (the process-wide one lives
    /// in a static and stops at exit).
    fn drop(&mut self) {
        self.stop();
    }
}

/// How a cluster is made.
struct Settings {
    /// Kept in this directory; `None`: a temp dir removed with the cluster.
    dir: Option<PathBuf>,
    /// fsync and synchronous commit on (benchmarks); off for tests.
    durable: bool,
}

impl Settings {
    fn throwaway() -> Settings {
        Settings {
            dir: None,
            durable: false,
        }
    }
}

fn server_command(bin: &Path, tool: &str, as_root: bool) -> Command {
    let mut command = if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", SERVER_USER, "--"]).arg(bin.join(tool));
        c
    } else {
        Command::new(bin.join(tool))
    };
    command.stdin(Stdio::null());
    command
}

/// The stdout of a finished command, or an error with its stderr.
fn check(output: std::io::Result<Output>, what: &str) -> Result<String, String> {
    let output = output.map_err(|e| format!("{what}: cannot run: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim(),
            String::from_utf8_lossy(&output.stdout).trim()
        ))
    }
}

/// The newest installed server's `bin` directory.
fn server_bin() -> Result<PathBuf, String> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(DEBIAN_BIN_GLOB)
        .map_err(|e| format!("{DEBIAN_BIN_GLOB}: {e}; {INSTALL_HINT}"))?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| format!("no server under {DEBIAN_BIN_GLOB}/*/bin; {INSTALL_HINT}"))
}

fn free_port() -> Result<u16, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free loopback port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

/// The uid and gid of the server user, for the directory it must own.
fn server_user_ids() -> Result<(u32, u32), String> {
    let id = |flag: &str| -> Result<u32, String> {
        let out = check(
            Command::new("id").args([flag, SERVER_USER]).output(),
            &format!("id {flag} {SERVER_USER}"),
        )
        .map_err(|e| format!("{e}; {INSTALL_HINT} (it creates the `{SERVER_USER}` user)"))?;
        out.trim()
            .parse()
            .map_err(|e| format!("id {flag} {SERVER_USER}: {e}"))
    };
    Ok((id("-u")?, id("-g")?))
}

fn start(settings: &Settings) -> Result<TestCluster, String> {
    let bin = server_bin()?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let as_root = unsafe { libc::geteuid() } == 0;
    let kept = settings.dir.is_some();
    let dir = match &settings.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            dir.canonicalize()
                .map_err(|e| format!("{}: {e}", dir.display()))?
        }
        None => tempfile::Builder::new()
            .prefix("cairn-pg-")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?
            .keep(),
    };
    let forget = |dir: &Path| {
        if !kept {
            let _ = std::fs::remove_dir_all(dir);
        }
    };
    if as_root {
        let (uid, gid) = server_user_ids()?;
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
            .map_err(|e| format!("chown {}: {e}", dir.display()))?;
    }
    let data = dir.join("data");
    if kept && data.join("postmaster.pid").is_file() {
        // Left running by a run that was killed.
        let _ = server_command(&bin, "pg_ctl", as_root)
            .arg("-D")
            .arg(&data)
            .args(["-m", "fast", "-w", "stop"])
            .output();
    }
    if !data.join("PG_VERSION").is_file() {
        let mut initdb = server_command(&bin, "initdb", as_root);
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", SERVER_USER, "-E", "UTF8"])
            .args(["--locale", "C.UTF-8"]);
        if !settings.durable {
            initdb.arg("--no-sync");
        }
        check(initdb.output(), "initdb").inspect_err(|_| forget(&dir))?;
    }
    // Durability of the server is not what the tests check: no fsync for them.
    let durability = if settings.durable {
        ""
    } else {
        " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    };
    // A port picked free may be taken before the server binds it: try a few.
    let mut last_error = String::new();
    for _ in 0..3 {
        let port = free_port()?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300{durability}",
            dir.display()
        );
        let started = check(
            server_command(&bin, "pg_ctl", as_root)
                .arg("-D")
                .arg(&data)
                .args(["-w", "-t", "30", "-o", &options])
                .arg("-l")
                .arg(dir.join("server.log"))
                .arg("start")
                .output(),
            "pg_ctl start",
        );
        match started {
            Ok(_) => {
                let cluster = TestCluster {
                    bin,
                    dir,
                    port,
                    as_root,
                    options,
                    kept,
                };
                stop_at_exit(&cluster);
                return Ok(cluster);
            }
            Err(e) => {
                let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
                last_error = format!("{e}\n--- server.log\n{log}");
            }
        }
    }
    forget(&dir);
    Err(last_error)
}

/// Stops the cluster when this process exits: at a normal exit through `atexit`,
/// and through a watchdog process when the test process is killed.
fn stop_at_exit(cluster: &TestCluster) {
    extern "C" fn stop_cluster() {
        if let Some(Ok(cluster)) = CLUSTER.get() {
            cluster.stop();
        }
    }
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    // SAFETY: registering a plain `extern "C" fn()` is what atexit expects.
    REGISTERED.call_once(|| unsafe {
        libc::atexit(stop_cluster);
    });
    // A kept cluster may be started again by the next run as soon as this one
    // exits: a watchdog would stop that one. A killed run's server is stopped by
    // the next start instead.
    if cluster.kept {
        return;
    }
    let pg_ctl = cluster.bin.join("pg_ctl");
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
         if [ -d '{dir}' ]; then {runuser}'{pg_ctl}' -D '{dir}/data' -m {mode} stop; \
         {remove}fi",
        mode = if cluster.kept { "fast" } else { "immediate" },
        remove = if cluster.kept {
            String::new()
        } else {
            format!("rm -rf '{}'; ", cluster.dir.display())
        },
        pid = std::process::id(),
        dir = cluster.dir.display(),
        runuser = if cluster.as_root {
            format!("runuser -u {SERVER_USER} -- ")
        } else {
            String::new()
        },
        pg_ctl = pg_ctl.display(),
    );
    // Detached (own session): it must outlive a killed test process.
    let _ = Command::new("setsid")
        .args(["sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}
