//! From a `postgres://` URL to a connection pool: the redacted form of the URL
//! (the only one that ever reaches a message), TLS with rustls for every host that
//! is not this machine, and a connect timeout so an unreachable server is an error
//! within seconds, never a hang.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use cairn_core::{Error, Result};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Timeouts};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres_rustls::MakeRustlsConnect;

/// How long one connection attempt may take when the URL does not say.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections one store value keeps open at most.
const POOL_SIZE: usize = 8;

/// The URL with its password (in the user part or as a `password=` option)
/// replaced by `***`: what errors and logs show.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    // The user part ends at the last `@` before the options: a password may
    // itself hold `@` or `/` (unencoded) and must not leak through either.
    let (head, query) = match rest.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (rest, None),
    };
    let head = match head.rsplit_once('@') {
        Some((user, hosts)) => match user.split_once(':') {
            Some((name, _password)) => format!("{name}:***@{hosts}"),
            None => format!("{user}@{hosts}"),
        },
        None => head.to_owned(),
    };
    let query = match query {
        Some(query) => {
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                        format!("{key}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            format!("?{}", pairs.join("&"))
        }
        None => String::new(),
    };
    format!("{scheme}{head}{query}")
}

/// The URL parsed for tokio-postgres, with cairn's defaults: a connect timeout,
/// and TLS required for a remote host unless the URL chose an `sslmode` itself.
pub(crate) fn config(url: &str, redacted: &str) -> Result<tokio_postgres::Config> {
    let mut config = tokio_postgres::Config::from_str(url).map_err(|e| {
        Error::invalid(format!(
            "store URL {redacted}: not a PostgreSQL URL ({e}); expected \
             postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
        ))
    })?;
    if config.get_dbname().is_none() {
        return Err(Error::invalid(format!(
            "store URL {redacted}: names no database; expected \
             postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
        )));
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("cairn");
    }
    let sslmode_given = url.contains("sslmode=");
    if !sslmode_given {
        config.ssl_mode(if all_local(&config) {
            SslMode::Disable
        } else {
            SslMode::Require
        });
    }
    Ok(config)
}

/// Every host is this machine (loopback or a unix socket): no TLS needed.
fn all_local(config: &tokio_postgres::Config) -> bool {
    let hosts = config.get_hosts();
    !hosts.is_empty()
        && hosts.iter().all(|host| match host {
            Host::Unix(_) => true,
            Host::Tcp(name) => {
                name == "localhost"
                    || name
                        .trim_matches(['[', ']'])
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
        })
}

/// rustls with the Mozilla roots; the server's certificate is verified.
pub(crate) fn tls() -> Result<MakeRustlsConnect> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::Storage(format!("TLS set-up: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// A pool that connects on first use (nothing is opened here).
pub(crate) fn pool(config: tokio_postgres::Config, redacted: &str) -> Result<Pool> {
    // As in libpq, the connect timeout bounds the whole set-up (TCP, TLS and
    // authentication): a server that accepts and then says nothing is an error
    // after that long, not twice as long.
    let create = config
        .get_connect_timeout()
        .copied()
        .unwrap_or(CONNECT_TIMEOUT);
    let manager = Manager::from_config(
        config,
        tls()?,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(POOL_SIZE)
        .runtime(Runtime::Tokio1)
        .timeouts(Timeouts {
            wait: Some(Duration::from_secs(30)),
            create: Some(create),
            recycle: Some(create),
        })
        .build()
        .map_err(|e| Error::Storage(format!("PostgreSQL {redacted}: connection pool: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_redacted_wherever_the_url_carries_it() {
        assert_eq!(
            redact("postgres://me:hunter2@db.example:5432/cairn"),
            "postgres://me:***@db.example:5432/cairn"
        );
        assert_eq!(
            redact("postgresql://me@db/cairn?sslmode=require&password=hunter2"),
            "postgresql://me@db/cairn?sslmode=require&password=***"
        );
        assert_eq!(redact("postgres://db/cairn"), "postgres://db/cairn");
        // A password with `@` or `/` in it is still hidden.
        let odd = redact("postgres://me:p@ss/w@db/cairn");
        assert!(!odd.contains("ss"), "{odd}");
    }

    #[test]
    fn tls_is_required_for_remote_hosts_unless_the_url_chooses() {
        let mode = |url: &str| config(url, "x").unwrap().get_ssl_mode();
        assert_eq!(mode("postgres://me@db.example/cairn"), SslMode::Require);
        assert_eq!(mode("postgres://me@127.0.0.1:5/cairn"), SslMode::Disable);
        assert_eq!(mode("postgres://me@localhost/cairn"), SslMode::Disable);
        assert_eq!(
            mode("postgres://me@db.example/cairn?sslmode=disable"),
            SslMode::Disable
        );
        let err = config("postgres://me:hunter2@db.example", "R").unwrap_err();
        assert!(err.to_string().contains("names no database"), "{err}");
    }
}
