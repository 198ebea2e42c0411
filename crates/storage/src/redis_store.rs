//! [`RedisStore`]: sessions in a Redis shared by every instance of the service.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, RedisError};
use tiny_opentok_domain::{Session, SessionId};

use crate::cached::{Backend, CacheSettings, Cached};
use crate::open::redact;
use crate::{SessionStore, StoreError, StoreOptions};

/// Keys scanned per `SCAN` step when counting.
const SCAN_BATCH: usize = 1000;

/// Sessions in Redis, one string key per session, read through the in-process cache.
///
/// - **Keys** are `{prefix}s:{session id}` (prefix default `tos:`); the value is the compact
///   record (10–14 bytes). With an idle TTL the key carries a Redis expiry, restarted by reads
///   at most once a second per session per instance, so all instances share one expiry.
/// - **Writes** return once Redis has acknowledged them (`SET … NX`); how long they last on the
///   Redis side is its persistence setting.
/// - **Connection**: one multiplexed connection that reconnects by itself after an outage.
///   Every call is bounded by the timeout and fails with [`StoreError::Unavailable`] meanwhile.
/// - **Capacity** is not enforced: `count` has to `SCAN` every key of the database. Bound Redis
///   memory with `maxmemory` (and `maxmemory-policy noeviction`) instead.
pub struct RedisStore {
    inner: Cached<RedisBackend>,
}

struct RedisBackend {
    conn: ConnectionManager,
    prefix: String,
    /// The `SCAN MATCH` pattern: the prefix with glob characters escaped, then `s:*`.
    pattern: String,
    idle_ttl_ms: Option<u64>,
    redacted_url: String,
}

impl RedisStore {
    /// Connects to the Redis at `url` (`redis://[user:password@]host:port[/db]` or `rediss://…`)
    /// and checks it answers. Later outages do not need a new store: the connection is remade by
    /// itself, and calls fail with [`StoreError::Unavailable`] until it is.
    ///
    /// # Errors
    /// [`StoreError::InvalidConfig`] for a URL that does not parse, [`StoreError::Unavailable`]
    /// when Redis cannot be reached within the timeout, [`StoreError::Backend`] when it refuses
    /// us (authentication). No error or log line contains the password.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let redacted_url = redact(url);
        // The parser's error is dropped on purpose: it may quote the URL, password and all.
        let client = redis::Client::open(url).map_err(|_| {
            StoreError::invalid(format!(
                "the redis URL does not parse; expected {}",
                crate::ACCEPTED_URLS
            ))
        })?;
        let timeout = options.timeout;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout)
            // Our own timeout bounds each call; retrying inside it would only hide the outage.
            .set_number_of_retries(1)
            .set_max_delay(timeout.as_millis().try_into().unwrap_or(u64::MAX));
        let connecting = ConnectionManager::new_with_config(client, config);
        let conn = match tokio::time::timeout(timeout, connecting).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return Err(classify(&redacted_url, "connect", e)),
            Err(elapsed) => {
                return Err(StoreError::unavailable(
                    format!(
                        "redis at {redacted_url} did not answer within {} ms",
                        timeout.as_millis()
                    ),
                    elapsed,
                ))
            }
        };
        let prefix = options.key_prefix.clone();
        let pattern = format!("{}s:*", escape_glob(&prefix));
        let backend = RedisBackend {
            conn,
            prefix,
            pattern,
            idle_ttl_ms: options
                .idle_ttl
                .map(|ttl| u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)),
            redacted_url,
        };
        backend.ping().await?;
        if options.capacity.is_some() {
            tracing::warn!(
                "the redis session store does not enforce a capacity; bound Redis with maxmemory"
            );
        }
        let settings = CacheSettings {
            timeout,
            cache_capacity: options.cache_capacity,
            idle_ttl: options
                .idle_ttl
                .map(|ttl| ttl.max(Duration::from_millis(1))),
        };
        Ok(Self {
            inner: Cached::new(backend, settings),
        })
    }

    /// The Redis key a session is stored under, for operators and tests.
    pub fn key_for(&self, id: &SessionId) -> String {
        self.inner.backend().key(id)
    }
}

fn escape_glob(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Connection trouble and a Redis that is busy loading or failing over are transient:
/// `Unavailable`. Anything else (a refused command, wrong credentials) is `Backend`.
fn classify(url: &str, what: &str, e: RedisError) -> StoreError {
    let transient = e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || matches!(
            e.code(),
            Some("LOADING" | "MASTERDOWN" | "TRYAGAIN" | "READONLY" | "BUSY")
        );
    let message = format!("redis {what} at {url}");
    if transient {
        StoreError::unavailable(message, e)
    } else {
        StoreError::backend(message, e)
    }
}

impl RedisBackend {
    fn key(&self, id: &SessionId) -> String {
        format!("{}s:{}", self.prefix, id.as_str())
    }

    async fn run<T: redis::FromRedisValue>(&self, what: &str, cmd: &Cmd) -> Result<T, StoreError> {
        // A ConnectionManager clone shares the one multiplexed connection.
        let mut conn = self.conn.clone();
        cmd.query_async(&mut conn)
            .await
            .map_err(|e| classify(&self.redacted_url, what, e))
    }
}

#[async_trait]
impl Backend for RedisBackend {
    async fn insert(&self, id: &SessionId, record: Vec<u8>) -> Result<bool, StoreError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(id)).arg(record).arg("NX");
        if let Some(ttl) = self.idle_ttl_ms {
            cmd.arg("PX").arg(ttl);
        }
        let set: Option<String> = self.run("SET", &cmd).await?;
        Ok(set.is_some())
    }

    async fn get(&self, id: &SessionId) -> Result<Option<Vec<u8>>, StoreError> {
        match self.idle_ttl_ms {
            None => self.run("GET", redis::cmd("GET").arg(self.key(id))).await,
            // Reads and restarts the expiry in one round trip.
            Some(ttl) => {
                self.run(
                    "GETEX",
                    redis::cmd("GETEX").arg(self.key(id)).arg("PX").arg(ttl),
                )
                .await
            }
        }
    }

    async fn touch(&self, id: &SessionId) -> Result<bool, StoreError> {
        let Some(ttl) = self.idle_ttl_ms else {
            return Ok(true);
        };
        let set: i64 = self
            .run("PEXPIRE", redis::cmd("PEXPIRE").arg(self.key(id)).arg(ttl))
            .await?;
        Ok(set == 1)
    }

    async fn remove(&self, id: &SessionId) -> Result<Option<Vec<u8>>, StoreError> {
        // GETDEL is atomic, so of racing removes exactly one gets the record.
        self.run("GETDEL", redis::cmd("GETDEL").arg(self.key(id)))
            .await
    }

    async fn count(&self) -> Result<usize, StoreError> {
        let mut cursor: u64 = 0;
        let mut total = 0;
        loop {
            let (next, keys): (u64, Vec<redis::Value>) = self
                .run(
                    "SCAN",
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&self.pattern)
                        .arg("COUNT")
                        .arg(SCAN_BATCH),
                )
                .await?;
            total += keys.len();
            if next == 0 {
                return Ok(total);
            }
            cursor = next;
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let _: String = self.run("PING", &redis::cmd("PING")).await?;
        Ok(())
    }

    fn name(&self) -> &'static str {
        "redis"
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = self.inner.backend();
        f.debug_struct("RedisStore")
            .field("url", &backend.redacted_url)
            .field("prefix", &backend.prefix)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn insert(&self, session: Session) -> Result<(), StoreError> {
        self.inner.insert(session).await
    }
    async fn get(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        self.inner.get(id).await
    }
    /// Served from the cache when the session was seen recently, without validating the text.
    async fn find(&self, id: &str) -> Result<Option<Session>, StoreError> {
        self.inner.find(id).await
    }
    async fn remove(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        self.inner.remove(id).await
    }
    /// Exact but O(keys in the database): it `SCAN`s for the prefix.
    async fn count(&self) -> Result<usize, StoreError> {
        self.inner.count().await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
    fn corrupt_records(&self) -> u64 {
        self.inner.corrupt_records()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_characters_in_the_prefix_match_only_themselves() {
        assert_eq!(escape_glob("tos:"), "tos:");
        assert_eq!(escape_glob("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
