//! `--store postgres`: the store benchmarks on a PostgreSQL server of this machine.
//! The harness starts it the way the tests start theirs (`cairn-testkit`: Debian's
//! server binaries, a free loopback port, run as the `postgres` user when root),
//! but durable (fsync and synchronous commit on, as a production server) and kept
//! under the data directory, so its datasets are generated once. Each dataset is a
//! database; its home's `config.toml` points `cairn` at it.

use std::path::Path;

use anyhow::{Context as _, Result, anyhow};
use cairn_testkit::postgres::TestCluster;

pub(crate) struct BenchServer {
    cluster: TestCluster,
}

/// The maintenance database every cluster has.
const ADMIN_DATABASE: &str = "postgres";

impl BenchServer {
    /// Starts the kept cluster in `dir` (created on first use).
    pub(crate) fn start(dir: &Path) -> Result<BenchServer> {
        let cluster = TestCluster::start_kept(dir)
            .map_err(|e| anyhow!("cannot start the benchmark's PostgreSQL server: {e}"))?;
        Ok(BenchServer { cluster })
    }

    pub(crate) fn url(&self, database: &str) -> String {
        self.cluster.url(database)
    }

    pub(crate) fn has_database(&self, database: &str) -> bool {
        let sql = format!("SELECT count(*) FROM pg_database WHERE datname = '{database}'");
        self.cluster.psql(ADMIN_DATABASE, &sql).trim() == "1"
    }

    /// An empty database `database` (dropped first when it exists); its URL.
    pub(crate) fn fresh_database(&self, database: &str) -> Result<String> {
        self.cluster
            .drop_database(database)
            .and_then(|()| self.cluster.create_database(database))
            .map(|db| db.url)
            .map_err(|e| anyhow!(e))
    }

    /// Bytes the database takes on disk (tables, indexes, TOAST).
    pub(crate) fn database_bytes(&self, database: &str) -> u64 {
        let sql = format!("SELECT pg_database_size('{database}')");
        self.cluster
            .psql(ADMIN_DATABASE, &sql)
            .trim()
            .parse()
            .unwrap_or(0)
    }

    /// `VACUUM ANALYZE` of a freshly loaded database, as autovacuum would do
    /// soon after a bulk load: the planner gets statistics, the visibility map is set.
    pub(crate) fn settle(&self, database: &str) {
        self.cluster.psql(database, "VACUUM ANALYZE");
    }

    /// WAL bytes written by the whole server so far, and commits in `database`:
    /// the write load of what ran between two readings.
    pub(crate) fn write_counters(&self, database: &str) -> (u64, u64) {
        let sql = format!(
            "SELECT (SELECT wal_bytes FROM pg_stat_wal), \
             (SELECT xact_commit FROM pg_stat_database WHERE datname = '{database}')"
        );
        let line = self.cluster.psql(ADMIN_DATABASE, &sql);
        let mut fields = line
            .trim()
            .split('|')
            .map(|f| f.parse::<u64>().unwrap_or(0));
        (fields.next().unwrap_or(0), fields.next().unwrap_or(0))
    }

    /// One line about the server, for the report.
    pub(crate) fn describe(&self) -> String {
        let show = |setting: &str| {
            let value = self
                .cluster
                .psql(ADMIN_DATABASE, &format!("SHOW {setting}"));
            value.trim().to_owned()
        };
        format!(
            "PostgreSQL {} on 127.0.0.1:{} (fsync {}, synchronous_commit {}), data in {}",
            show("server_version"),
            self.cluster.port(),
            show("fsync"),
            show("synchronous_commit"),
            self.cluster.dir().display()
        )
    }
}

/// Points the cairn home `home` at `url`: every `cairn` started there uses it.
pub(crate) fn point_home_at(home: &Path, url: &str) -> Result<()> {
    std::fs::create_dir_all(home)?;
    let config = home.join("config.toml");
    std::fs::write(&config, format!("[store]\nurl = \"{url}\"\n"))
        .with_context(|| format!("writing {}", config.display()))
}
