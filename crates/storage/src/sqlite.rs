//! [`SqliteStore`]: sessions in one SQLite file, for a single instance that must keep them across
//! restarts.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use tiny_opentok_domain::{Session, SessionId};
use tokio::sync::oneshot;

use crate::cached::{refresh_interval, Backend, CacheSettings, Cached};
use crate::{SessionStore, StoreError, StoreOptions};

/// The schema this release writes, kept in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 1;

/// Calls waiting for the database thread; beyond this callers get `Unavailable` at once.
const QUEUE: usize = 1024;

/// Schema 0 (a new, empty file) to 1. The count row is kept by triggers so a capacity check
/// reads one row instead of counting the table.
const MIGRATE_TO_1: &str = "
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    record BLOB NOT NULL,
    -- unix milliseconds; NULL when the store had no idle TTL at the last write
    expires_at INTEGER
) WITHOUT ROWID;
CREATE INDEX sessions_by_expiry ON sessions (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE session_count (only INTEGER PRIMARY KEY CHECK (only = 0), n INTEGER NOT NULL);
INSERT INTO session_count (only, n) VALUES (0, 0);
CREATE TRIGGER sessions_count_insert AFTER INSERT ON sessions
    BEGIN UPDATE session_count SET n = n + 1; END;
CREATE TRIGGER sessions_count_delete AFTER DELETE ON sessions
    BEGIN UPDATE session_count SET n = n - 1; END;
";

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// Sessions in a SQLite file (WAL, `synchronous = FULL`), read through the in-process cache.
///
/// - **Durability.** An `insert` that returns `Ok` has committed and been synced: it survives a
///   crash or `kill -9` of the process, and, on storage that honours fsync, a power cut.
/// - **Threads.** One dedicated thread owns the connection and runs calls in order, so
///   async workers never block; at most 1024 calls wait for it.
/// - **Schema** is versioned with `PRAGMA user_version` and migrated when the file is opened; a
///   file from a newer release is refused rather than misread.
/// - **Idle expiry** is an `expires_at` column in wall-clock milliseconds, so it holds across
///   restarts; expired rows are purged once per TTL (at most a minute apart).
/// - **One process** per file: other processes may read it (backups), but only one should write.
pub struct SqliteStore {
    inner: Cached<SqliteBackend>,
}

struct SqliteBackend {
    jobs: SyncSender<Job>,
    path: PathBuf,
    limits: Limits,
}

/// What the database thread needs to know.
#[derive(Clone, Copy)]
struct Limits {
    capacity: Option<usize>,
    idle_ttl_ms: Option<i64>,
    /// A read restarts the idle clock only when it was last restarted this long ago, so reads
    /// stay reads.
    refresh_ms: i64,
}

impl SqliteStore {
    /// Opens (or creates) the database at `path`, creating missing parent folders, and
    /// migrates its schema.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the folder or file cannot be created or opened, or the file
    /// is not a session database this release can use; [`StoreError::Unavailable`] when it is
    /// locked by another writer for longer than the timeout.
    pub async fn open(path: impl AsRef<Path>, options: &StoreOptions) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let limits = Limits {
            capacity: options.capacity,
            idle_ttl_ms: options
                .idle_ttl
                .map(|ttl| i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)),
            refresh_ms: options.idle_ttl.map_or(0, |ttl| {
                i64::try_from(refresh_interval(ttl).as_millis()).unwrap_or(i64::MAX)
            }),
        };
        let timeout = options.timeout;
        let (ready_tx, ready_rx) = oneshot::channel();
        let (jobs, queue) = mpsc::sync_channel::<Job>(QUEUE);
        let thread_path = path.clone();
        std::thread::Builder::new()
            .name("session-sqlite".to_owned())
            .spawn(move || match connect(&thread_path, timeout) {
                Ok(conn) => {
                    let _ = ready_tx.send(Ok(()));
                    serve(conn, queue, limits);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(|e| StoreError::backend("could not start the sqlite thread", e))?;
        ready_rx.await.map_err(|e| {
            StoreError::backend("the sqlite thread ended while opening the database", e)
        })??;
        let settings = CacheSettings {
            timeout,
            cache_capacity: options.cache_capacity,
            idle_ttl: options.idle_ttl,
        };
        Ok(Self {
            inner: Cached::new(SqliteBackend { jobs, path, limits }, settings),
        })
    }
}

fn connect(path: &Path, timeout: Duration) -> Result<Connection, StoreError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| {
            StoreError::backend(format!("could not create {}", parent.display()), e)
        })?;
    }
    let failed = |e: rusqlite::Error| {
        if is_busy(&e) {
            StoreError::unavailable(format!("{} is locked", path.display()), e)
        } else {
            StoreError::backend(format!("could not open {}", path.display()), e)
        }
    };
    let mut conn = Connection::open(path).map_err(failed)?;
    conn.busy_timeout(timeout).map_err(failed)?;
    // WAL: readers (a backup) never block the writer. FULL: each commit is synced, so an
    // insert that returned Ok survives a power cut too; sessions are written rarely enough
    // that the fsync does not matter.
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(failed)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(failed)?;
    migrate(&mut conn).map_err(|e| match e {
        Migration::Sql(e) => failed(e),
        Migration::Newer(v) => StoreError::Backend {
            message: format!(
                "{} has schema version {v}, newer than this release's {SCHEMA_VERSION}",
                path.display()
            ),
            source: None,
        },
    })?;
    Ok(conn)
}

enum Migration {
    Sql(rusqlite::Error),
    Newer(i64),
}

impl From<rusqlite::Error> for Migration {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sql(e)
    }
}

fn migrate(conn: &mut Connection) -> Result<(), Migration> {
    // IMMEDIATE: two processes opening a new file at once do not both create the tables.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(Migration::Newer(version));
    }
    if version < 1 {
        tx.execute_batch(MIGRATE_TO_1)?;
    }
    // Later schema versions add their steps here, each guarded by `version < N`.
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// The database thread: runs calls in order and purges expired rows between them.
fn serve(mut conn: Connection, queue: Receiver<Job>, limits: Limits) {
    let purge_every = limits.idle_ttl_ms.map(|ttl| {
        Duration::from_millis(u64::try_from(ttl).unwrap_or(0))
            .clamp(Duration::from_secs(1), Duration::from_secs(60))
    });
    let mut next_purge = purge_every.map(|every| Instant::now() + every);
    loop {
        let job = match next_purge {
            None => queue.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(at) => queue.recv_timeout(at.saturating_duration_since(Instant::now())),
        };
        match job {
            Ok(job) => job(&mut conn),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if let (Some(at), Some(every)) = (next_purge, purge_every) {
            if Instant::now() >= at {
                if let Err(e) = purge(&conn) {
                    tracing::warn!(error = %e, "purging expired sessions failed");
                }
                next_purge = Some(Instant::now() + every);
            }
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn purge(conn: &Connection) -> rusqlite::Result<usize> {
    conn.prepare_cached("DELETE FROM sessions WHERE expires_at <= ?1")?
        .execute(params![now_ms()])
}

fn failed(what: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| {
        if is_busy(&e) {
            StoreError::unavailable(format!("sqlite {what}: database locked"), e)
        } else {
            StoreError::backend(format!("sqlite {what} failed"), e)
        }
    }
}

impl Limits {
    fn expires_at(&self, now: i64) -> Option<i64> {
        self.idle_ttl_ms.map(|ttl| now.saturating_add(ttl))
    }
}

fn insert(
    conn: &mut Connection,
    limits: Limits,
    id: &str,
    record: &[u8],
) -> rusqlite::Result<Inserted> {
    let now = now_ms();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // An expired session's id may be reused, as MemoryStore allows.
    tx.prepare_cached("DELETE FROM sessions WHERE id = ?1 AND expires_at <= ?2")?
        .execute(params![id, now])?;
    let exists = tx
        .prepare_cached("SELECT 1 FROM sessions WHERE id = ?1")?
        .exists(params![id])?;
    if exists {
        return Ok(Inserted::Duplicate);
    }
    if let Some(capacity) = limits.capacity {
        let read_count = |tx: &rusqlite::Transaction<'_>| -> rusqlite::Result<i64> {
            tx.prepare_cached("SELECT n FROM session_count")?
                .query_row([], |row| row.get(0))
        };
        let cap = i64::try_from(capacity).unwrap_or(i64::MAX);
        if read_count(&tx)? >= cap {
            // Expired rows may be holding the room.
            purge(&tx)?;
            if read_count(&tx)? >= cap {
                return Ok(Inserted::Full(capacity));
            }
        }
    }
    tx.prepare_cached("INSERT INTO sessions (id, record, expires_at) VALUES (?1, ?2, ?3)")?
        .execute(params![id, record, limits.expires_at(now)])?;
    tx.commit()?;
    Ok(Inserted::Stored)
}

/// The live record, restarting its idle clock if that was last done over `refresh_ms` ago.
fn get(conn: &Connection, limits: Limits, id: &str) -> rusqlite::Result<Option<Vec<u8>>> {
    let now = now_ms();
    let found = conn
        .prepare_cached(
            "SELECT record, expires_at FROM sessions WHERE id = ?1 \
             AND (expires_at IS NULL OR expires_at > ?2)",
        )?
        .query_row(params![id, now], |row| {
            Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, Option<i64>>(1)?))
        })
        .optional()?;
    let Some((record, expires_at)) = found else {
        return Ok(None);
    };
    if let Some(new_expiry) = limits.expires_at(now) {
        let stale = expires_at.is_none_or(|at| at < new_expiry.saturating_sub(limits.refresh_ms));
        if stale {
            conn.prepare_cached("UPDATE sessions SET expires_at = ?2 WHERE id = ?1")?
                .execute(params![id, new_expiry])?;
        }
    }
    Ok(Some(record))
}

enum Inserted {
    Stored,
    Duplicate,
    Full(usize),
}

impl SqliteBackend {
    /// Runs `work` on the database thread. Skipped there if the caller has given up (timed out)
    /// by the time its turn comes, so a late write does not land long after an error was returned.
    async fn call<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            if !tx.is_closed() {
                let _ = tx.send(work(conn));
            }
        });
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => StoreError::Unavailable {
                message: format!("{QUEUE} sqlite calls are already waiting"),
                source: None,
            },
            TrySendError::Disconnected(_) => StoreError::Unavailable {
                message: "the sqlite thread has stopped".to_owned(),
                source: None,
            },
        })?;
        rx.await
            .map_err(|e| StoreError::unavailable("the sqlite thread dropped a call", e))?
    }
}

#[async_trait]
impl Backend for SqliteBackend {
    async fn insert(&self, id: &SessionId, record: Vec<u8>) -> Result<bool, StoreError> {
        let id = id.clone();
        let limits = self.limits;
        self.call(
            move |conn| match insert(conn, limits, id.as_str(), &record) {
                Ok(Inserted::Stored) => Ok(true),
                Ok(Inserted::Duplicate) => Ok(false),
                Ok(Inserted::Full(capacity)) => Err(StoreError::Full { capacity }),
                Err(e) => Err(failed("insert")(e)),
            },
        )
        .await
    }

    async fn get(&self, id: &SessionId) -> Result<Option<Vec<u8>>, StoreError> {
        let id = id.clone();
        let limits = self.limits;
        self.call(move |conn| get(conn, limits, id.as_str()).map_err(failed("get")))
            .await
    }

    async fn touch(&self, id: &SessionId) -> Result<bool, StoreError> {
        let id = id.clone();
        let limits = self.limits;
        self.call(move |conn| {
            let now = now_ms();
            let Some(expires_at) = limits.expires_at(now) else {
                return Ok(true);
            };
            conn.prepare_cached(
                "UPDATE sessions SET expires_at = ?3 WHERE id = ?1 \
                 AND (expires_at IS NULL OR expires_at > ?2)",
            )
            .and_then(|mut s| s.execute(params![id.as_str(), now, expires_at]))
            .map(|changed| changed > 0)
            .map_err(failed("refresh"))
        })
        .await
    }

    async fn remove(&self, id: &SessionId) -> Result<Option<Vec<u8>>, StoreError> {
        let id = id.clone();
        self.call(move |conn| {
            let now = now_ms();
            conn.prepare_cached("DELETE FROM sessions WHERE id = ?1 RETURNING record, expires_at")
                .and_then(|mut s| {
                    s.query_row(params![id.as_str()], |row| {
                        Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, Option<i64>>(1)?))
                    })
                    .optional()
                })
                .map(|row| {
                    row.and_then(|(record, expires_at)| match expires_at {
                        Some(at) if at <= now => None,
                        _ => Some(record),
                    })
                })
                .map_err(failed("remove"))
        })
        .await
    }

    async fn count(&self) -> Result<usize, StoreError> {
        self.call(|conn| {
            // The kept count, less the expired rows not yet purged (an index range scan).
            conn.prepare_cached(
                "SELECT (SELECT n FROM session_count) - \
                 (SELECT count(*) FROM sessions WHERE expires_at <= ?1)",
            )
            .and_then(|mut s| s.query_row(params![now_ms()], |row| row.get::<_, i64>(0)))
            .map(|n| usize::try_from(n).unwrap_or(0))
            .map_err(failed("count"))
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.call(|conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(failed("ping"))
        })
        .await
    }

    fn name(&self) -> &'static str {
        "sqlite"
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.backend().path)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
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
    /// Exact: the trigger-kept row count less the expired rows not yet purged.
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
