//! Choosing a store at startup from a URL and a few options.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::error::ACCEPTED_URLS;
use crate::{MemoryStore, MemoryStoreConfig, SessionStore, StoreError};

/// Settings every store understands; each backend uses the ones that apply to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Most sessions kept (memory and SQLite; Redis cannot count cheaply and ignores it, see
    /// `docs/deployment.md`). `None` is unbounded.
    pub capacity: Option<usize>,
    /// Sessions unread for this long are dropped; `None` keeps them until removed.
    pub idle_ttl: Option<Duration>,
    /// The longest any one call on a persistent backend may take before it fails with
    /// [`StoreError::Unavailable`]. Default 1000 ms.
    pub timeout: Duration,
    /// Prepended to every Redis key. Default `tos:`.
    pub key_prefix: String,
    /// Sessions the in-process read cache of the persistent stores holds; 0 turns it off.
    /// Default 100,000 (about 40 MB).
    pub cache_capacity: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            capacity: None,
            idle_ttl: None,
            timeout: Duration::from_millis(1000),
            key_prefix: "tos:".to_owned(),
            cache_capacity: 100_000,
        }
    }
}

/// A parsed store URL: `memory`, `sqlite://PATH` or `redis[s]://…`. `Display` and `Debug` show
/// it with any password replaced by `***`, so it is safe to log.
#[derive(Clone)]
pub struct StoreUrl(Kind);

#[derive(Clone)]
enum Kind {
    Memory,
    Sqlite(PathBuf),
    Redis { url: SecretString, redacted: String },
}

impl StoreUrl {
    /// Parses one of the forms in [`ACCEPTED_URLS`]. A relative SQLite path is relative to the
    /// working directory (`sqlite:///var/lib/x.db` is absolute).
    ///
    /// # Errors
    /// [`StoreError::InvalidConfig`] naming the accepted forms, for anything else or for a form
    /// this build lacks the cargo feature for. The message never repeats the URL's password.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        if url == "memory" || url == "memory://" {
            return Ok(Self(Kind::Memory));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(StoreError::invalid(
                    "sqlite:// needs a file path, such as sqlite://data/sessions.db",
                ));
            }
            return Ok(Self(Kind::Sqlite(PathBuf::from(path))));
        }
        if url.starts_with("redis://") || url.starts_with("rediss://") {
            check_redis_url(url)?;
            return Ok(Self(Kind::Redis {
                url: SecretString::from(url),
                redacted: redact(url),
            }));
        }
        let scheme = url
            .split_once("://")
            .map(|(scheme, _)| scheme)
            .filter(|s| s.len() <= 16 && s.bytes().all(|b| b.is_ascii_alphanumeric()))
            .map(|s| format!(" (scheme {s:?})"))
            .unwrap_or_default();
        Err(StoreError::invalid(format!(
            "unrecognised store URL{scheme}; expected {ACCEPTED_URLS}"
        )))
    }

    /// `memory`, `sqlite` or `redis`: the backend this URL selects.
    pub fn backend(&self) -> &'static str {
        match self.0 {
            Kind::Memory => "memory",
            Kind::Sqlite(_) => "sqlite",
            Kind::Redis { .. } => "redis",
        }
    }

    /// Opens the store this URL names.
    ///
    /// - `memory`: a [`MemoryStore`] with the options' capacity and idle TTL, swept by a
    ///   background thread once per TTL.
    /// - `sqlite://PATH`: creates missing parent folders and the file, migrates the schema.
    /// - `redis[s]://…`: connects once to check the address and credentials; later outages are
    ///   reconnected by themselves.
    ///
    /// # Errors
    /// [`StoreError::InvalidConfig`] for bad options, [`StoreError::Unavailable`] when the backend
    /// cannot be reached within the timeout, [`StoreError::Backend`] when it refuses us (a
    /// database from a newer release, a wrong password).
    pub async fn open(&self, options: &StoreOptions) -> Result<Arc<dyn SessionStore>, StoreError> {
        if options.timeout.is_zero() {
            return Err(StoreError::invalid("the store timeout must be above zero"));
        }
        match &self.0 {
            Kind::Memory => {
                let store = Arc::new(MemoryStore::with_config(MemoryStoreConfig {
                    capacity: options.capacity,
                    idle_ttl: options.idle_ttl,
                }));
                if let Some(ttl) = options.idle_ttl {
                    if let Err(e) = store.sweep_every(ttl.max(Duration::from_secs(1))) {
                        tracing::warn!(error = %e, "no sweeper thread; expired sessions are swept on requests");
                    }
                }
                Ok(store)
            }
            Kind::Sqlite(path) => open_sqlite(path, options).await,
            Kind::Redis { url, .. } => open_redis(url.expose_secret(), options).await,
        }
    }
}

/// Parses `url` and opens that store: see [`StoreUrl::parse`] and [`StoreUrl::open`].
///
/// # Errors
/// As those two.
pub async fn open_store(
    url: &str,
    options: &StoreOptions,
) -> Result<Arc<dyn SessionStore>, StoreError> {
    StoreUrl::parse(url)?.open(options).await
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Memory => f.write_str("memory"),
            Kind::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            Kind::Redis { redacted, .. } => f.write_str(redacted),
        }
    }
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreUrl({self})")
    }
}

/// The URL with whatever follows the user name in its user info replaced by `***`.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    let user = match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:***"),
        // A lone user-info part may be a password to some clients: hide it too.
        None => "***".to_owned(),
    };
    format!("{scheme}://{user}@{host}{tail}")
}

#[cfg(feature = "redis")]
fn check_redis_url(url: &str) -> Result<(), StoreError> {
    use redis::IntoConnectionInfo;
    // The parser's error is dropped on purpose: it may quote the URL, password and all.
    url.into_connection_info().map(drop).map_err(|_| {
        StoreError::invalid(format!(
            "the redis URL does not parse; expected {ACCEPTED_URLS}"
        ))
    })
}

#[cfg(not(feature = "redis"))]
fn check_redis_url(_: &str) -> Result<(), StoreError> {
    Err(StoreError::invalid(
        "this build has no Redis support (the storage crate's `redis` feature)",
    ))
}

#[cfg(feature = "sqlite")]
async fn open_sqlite(
    path: &std::path::Path,
    options: &StoreOptions,
) -> Result<Arc<dyn SessionStore>, StoreError> {
    Ok(Arc::new(crate::SqliteStore::open(path, options).await?))
}

#[cfg(not(feature = "sqlite"))]
async fn open_sqlite(
    _: &std::path::Path,
    _: &StoreOptions,
) -> Result<Arc<dyn SessionStore>, StoreError> {
    Err(StoreError::invalid(
        "this build has no SQLite support (the storage crate's `sqlite` feature)",
    ))
}

#[cfg(feature = "redis")]
async fn open_redis(
    url: &str,
    options: &StoreOptions,
) -> Result<Arc<dyn SessionStore>, StoreError> {
    Ok(Arc::new(crate::RedisStore::connect(url, options).await?))
}

#[cfg(not(feature = "redis"))]
async fn open_redis(_: &str, _: &StoreOptions) -> Result<Arc<dyn SessionStore>, StoreError> {
    Err(StoreError::invalid(
        "this build has no Redis support (the storage crate's `redis` feature)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_the_password_and_keeps_the_rest() {
        assert_eq!(
            redact("redis://app:s3cret@cache:6379/2"),
            "redis://app:***@cache:6379/2"
        );
        assert_eq!(redact("rediss://:s3cret@cache"), "rediss://:***@cache");
        assert_eq!(redact("redis://s3cret@cache"), "redis://***@cache");
        assert_eq!(redact("redis://cache:6379"), "redis://cache:6379");
        assert_eq!(
            redact("redis://u:p@ss@cache/0"),
            "redis://u:***@cache/0",
            "an unescaped @ in the password"
        );
    }

    #[test]
    fn accepts_the_documented_forms() {
        assert_eq!(StoreUrl::parse("memory").unwrap().backend(), "memory");
        let sqlite = StoreUrl::parse("sqlite://data/sessions.db").unwrap();
        assert_eq!(sqlite.backend(), "sqlite");
        assert_eq!(sqlite.to_string(), "sqlite://data/sessions.db");
    }

    #[test]
    fn anything_else_is_refused_with_the_accepted_forms() {
        for bad in [
            "",
            "Memory",
            "sqlite://",
            "postgres://db/x",
            "sessions.db",
            "redis:/x",
        ] {
            let err = StoreUrl::parse(bad).unwrap_err();
            assert!(
                matches!(err, StoreError::InvalidConfig { .. }),
                "{bad:?}: {err:?}"
            );
        }
        let err = StoreUrl::parse("postgres://u:hunter2@db/x").unwrap_err();
        let text = err.to_string();
        assert!(text.contains(ACCEPTED_URLS), "{text}");
        assert!(text.contains("\"postgres\""), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
