//! The PostgreSQL store behind [`cairn_core::Store`]: one database shared by every
//! machine and agent of a team.
//!
//! Same semantics as the SQLite store, method by method (the conformance suite in
//! `cairn-store-conformance` is the definition). A store value is a pool of
//! connections (`deadpool-postgres`) opened on first use; the first use also
//! applies the embedded migrations. Every write is one transaction, durable when
//! its future resolves; appends to one session take turns on the session row's
//! lock, so seqs stay dense under any concurrency. The password of the URL never
//! reaches a message: errors name the server by [`redact`]ed URL.

mod agent_pool;
mod attachments;
mod authors;
mod changes;
mod checkpoints;
mod connect;
mod copies;
mod events;
mod fail;
mod import_origins;
mod leases;
mod lineage;
mod media;
pub mod migrations;
mod payloads;
#[cfg(test)]
mod phrase_verdict_agrees;
mod progress_import;
mod project_keys;
mod project_knowledge;
mod rows;
mod search;
#[cfg(test)]
mod search_by_time;
mod search_text;
mod sessions;
mod space;
mod store_impl;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use cairn_core::{Error, Result, Store, StoreChange};
use deadpool_postgres::{Object, Pool, Transaction};
use tokio_postgres::IsolationLevel;
use tokio_postgres::error::SqlState;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::changes::Changes;
use crate::fail::{Fail, R};

pub use crate::connect::{CONNECT_TIMEOUT, redact};

/// The PostgreSQL store. Cheap to clone; clones share the pool and the change feed.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    /// The URL as messages show it.
    redacted: String,
    /// For the change listener's own connection.
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    /// Set once the schema is known to be current.
    ready: tokio::sync::OnceCell<()>,
    changes: Arc<Changes>,
}

/// Opens the store at `url` (`postgres://` or `postgresql://`); see
/// [`PostgresStore::open`].
pub fn open_store(url: &str) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(PostgresStore::open(url)?))
}

/// A transaction's work, borrowing the transaction.
type Work<'a, T> = Pin<Box<dyn Future<Output = R<T>> + Send + 'a>>;

impl PostgresStore {
    /// Checks the URL and prepares the pool; nothing connects until the first use,
    /// which also brings the schema up to date (or refuses a newer one). A bad URL
    /// is an error naming the rule; the password is never shown.
    pub fn open(url: &str) -> Result<Self> {
        let redacted = redact(url);
        let config = connect::config(url, &redacted)?;
        let pool = connect::pool(config.clone(), &redacted)?;
        Ok(PostgresStore {
            inner: Arc::new(Inner {
                pool,
                redacted,
                config,
                tls: connect::tls()?,
                ready: tokio::sync::OnceCell::new(),
                changes: Arc::new(Changes::new()),
            }),
        })
    }

    /// The URL with its password hidden.
    pub fn redacted_url(&self) -> &str {
        &self.inner.redacted
    }

    /// Connects now and brings the schema up to date: the errors a first use would
    /// give (unreachable server, refused login, newer schema), early.
    pub async fn check(&self) -> Result<()> {
        self.run(async { self.client().await.map(drop) }).await
    }

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> Result<i64> {
        self.read(|tx| Box::pin(migrations::version(tx))).await
    }

    fn error(&self, fail: Fail) -> Error {
        fail.into_error(&self.inner.redacted)
    }

    async fn run<T>(&self, work: impl Future<Output = R<T>>) -> Result<T> {
        work.await.map_err(|e| self.error(e))
    }

    /// A pooled connection to a database whose schema is current.
    async fn client(&self) -> R<Object> {
        let inner = &self.inner;
        inner
            .ready
            .get_or_try_init(|| async {
                let mut client = inner.pool.get().await?;
                if migrations::is_current(&client).await {
                    return Ok(());
                }
                let tx = client.transaction().await?;
                migrations::apply_missing(&tx, &inner.redacted)
                    .await
                    .map_err(|e| self.schema_hint(e))?;
                tx.commit().await?;
                Ok::<(), Fail>(())
            })
            .await?;
        Ok(inner.pool.get().await?)
    }

    /// A migration the role may not run says what to ask an administrator.
    fn schema_hint(&self, fail: Fail) -> Fail {
        let hint = match fail.code() {
            Some(&SqlState::INSUFFICIENT_PRIVILEGE) => {
                "the role may not create the schema; connect once as the database's owner, \
                 or have an administrator run `CREATE EXTENSION unaccent` and grant CREATE \
                 on the database's schema"
            }
            Some(&SqlState::UNDEFINED_FILE) | Some(&SqlState::FEATURE_NOT_SUPPORTED) => {
                "the server lacks the `unaccent` extension (Debian: postgresql-contrib)"
            }
            _ => return fail,
        };
        let message = self.error(fail).to_string();
        Fail::Domain(Error::StoreUnusable {
            path: self.inner.redacted.clone().into(),
            message: format!("cannot set up the schema ({message}); {hint}"),
        })
    }

    /// Runs `work` in a read-only snapshot (what it reads is one consistent state).
    async fn read<T, F>(&self, work: F) -> Result<T>
    where
        T: Send,
        F: for<'a> FnOnce(&'a Transaction<'a>) -> Work<'a, T> + Send,
    {
        self.run(async {
            let mut client = self.client().await?;
            let tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let value = work(&tx).await?;
            tx.commit().await?;
            Ok(value)
        })
        .await
    }

    /// Runs `work` on a pooled connection outside any transaction: each statement
    /// reads its own snapshot. For reads whose statements need not agree (one
    /// statement, or later ones that leave out rows gone meanwhile), saving the
    /// round trips of `BEGIN` and `COMMIT`. On a process's first use, the schema
    /// check travels with the work's first statement; the work's answer is kept
    /// only when the schema is current, otherwise (it reads, so nothing changed)
    /// the schema is brought up to date and the work runs again.
    async fn read_each<T, F>(&self, work: F) -> Result<T>
    where
        T: Send,
        F: for<'a> Fn(&'a tokio_postgres::Client) -> Work<'a, T> + Send + Sync,
    {
        self.run(async {
            if self.inner.ready.initialized() {
                let client = self.inner.pool.get().await?;
                return work(&client).await;
            }
            {
                let client = self.inner.pool.get().await?;
                let (current, value) =
                    futures::join!(migrations::is_current(&client), work(&client));
                if current {
                    // Another task may have set it meanwhile: either way it is set.
                    let _ = self.inner.ready.set(());
                    return value;
                }
            }
            let client = self.client().await?;
            work(&client).await
        })
        .await
    }

    /// Runs `work` in one transaction and commits it; with `notify`, other stores
    /// on the database hear of the write when it commits.
    async fn write_raw<T, F>(&self, notify: bool, work: F) -> R<T>
    where
        T: Send,
        F: for<'a> FnOnce(&'a Transaction<'a>) -> Work<'a, T> + Send,
    {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let value = work(&tx).await?;
        if notify {
            let statement = tx.prepare_cached("SELECT pg_notify($1, $2)").await?;
            tx.execute(&statement, &[&changes::CHANNEL, &self.inner.changes.origin])
                .await?;
        }
        tx.commit().await?;
        Ok(value)
    }

    /// A write that is announced as `change` once committed.
    async fn write<T, F>(&self, change: Option<StoreChange>, work: F) -> Result<T>
    where
        T: Send,
        F: for<'a> FnOnce(&'a Transaction<'a>) -> Work<'a, T> + Send,
    {
        let value = self.run(self.write_raw(change.is_some(), work)).await?;
        if let Some(change) = change {
            self.announce(change);
        }
        Ok(value)
    }

    fn announce(&self, change: StoreChange) {
        self.inner.changes.announce(change);
    }

    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<StoreChange> {
        self.inner
            .changes
            .subscribe(&self.inner.config, &self.inner.tls)
    }
}
