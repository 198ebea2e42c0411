//! [`SqliteStore`]: sessions in one SQLite file, for a single instance that must keep them across
//! restarts.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
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

/// The most inserts committed in one transaction (one fsync). Bounds how long the calls behind
/// a group wait for it.
// Group commit took POST /session from 0.43x to 0.79x the memory store's req/s (bench/run.sh,
// SQLite against memory in the same rounds, 2026-12-02; docs/benchmarks.md, "Session stores").
const MAX_GROUP: usize = 256;

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

/// A call for the database thread. Inserts are data rather than closures so that the thread
/// can commit the ones waiting together (see [`commit_inserts`]).
enum Job {
    Insert(PendingInsert),
    Call(Box<dyn FnOnce(&mut Connection) + Send>),
}

struct PendingInsert {
    id: SessionId,
    record: Vec<u8>,
    reply: oneshot::Sender<Result<bool, StoreError>>,
}

/// Sessions in a SQLite file (WAL, `synchronous = FULL`), read through the in-process cache.
///
/// - **Durability.** An `insert` that returns `Ok` has committed and been synced: it survives a
///   crash or `kill -9` of the process, and, on storage that honours fsync, a power cut.
/// - **Group commit.** Inserts that are waiting together (up to 256) are committed in one
///   transaction, so they share one fsync; each still gets its own answer (stored, duplicate,
///   full) as if it had run alone, in queue order.
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
    // insert that returned Ok survives a power cut too. Group commit (`commit_inserts`) shares
    // one fsync among the inserts waiting together, which keeps FULL affordable under load.
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

/// The database thread: runs calls in order, inserts that wait together as one group, and
/// purges expired rows between them.
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
            Ok(Job::Call(call)) => call(&mut conn),
            Ok(Job::Insert(first)) => {
                let mut group = vec![first];
                let mut next_call = None;
                // Only what is already queued: the thread never waits to fill a group.
                while group.len() < MAX_GROUP {
                    match queue.try_recv() {
                        Ok(Job::Insert(insert)) => group.push(insert),
                        Ok(Job::Call(call)) => {
                            // Runs after the group, so it sees the inserts queued before it.
                            next_call = Some(call);
                            break;
                        }
                        Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                    }
                }
                commit_inserts(&mut conn, limits, group);
                if let Some(call) = next_call {
                    call(&mut conn);
                }
            }
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

/// Commits `group` in one transaction and answers each caller. Each insert sees the ones before
/// it in the group, exactly as if it had been committed alone: a repeated id is a duplicate, the
/// capacity is checked per insert. Callers that have given up (timed out) by now are left out, so
/// a late write does not land long after an error was returned.
///
/// When the transaction fails, the inserts are retried one transaction each, so that one bad
/// insert does not fail the others and each caller gets its own error.
fn commit_inserts(conn: &mut Connection, limits: Limits, group: Vec<PendingInsert>) {
    let group: Vec<PendingInsert> = group
        .into_iter()
        .filter(|insert| !insert.reply.is_closed())
        .collect();
    if group.is_empty() {
        return;
    }
    if group.len() > 1 {
        match insert_all(conn, limits, &group) {
            Ok(outcomes) => {
                for (insert, outcome) in group.into_iter().zip(outcomes) {
                    let _ = insert.reply.send(answer(outcome));
                }
                return;
            }
            Err(e) => {
                tracing::debug!(
                    error = %e,
                    inserts = group.len(),
                    "group commit failed; committing one by one"
                );
            }
        }
    }
    // A lone insert, or a group whose transaction failed: one transaction each.
    for insert in group {
        if insert.reply.is_closed() {
            continue;
        }
        let outcome = insert_alone(conn, limits, &insert).map_err(failed("insert"));
        let _ = insert.reply.send(outcome.and_then(answer));
    }
}

/// What the caller of one insert is told.
fn answer(outcome: Inserted) -> Result<bool, StoreError> {
    match outcome {
        Inserted::Stored => Ok(true),
        Inserted::Duplicate => Ok(false),
        Inserted::Full(capacity) => Err(StoreError::Full { capacity }),
    }
}

/// Runs the inserts in order in one transaction and commits it; the outcomes are in the same
/// order. Nothing is stored when it fails.
fn insert_all(
    conn: &mut Connection,
    limits: Limits,
    group: &[PendingInsert],
) -> rusqlite::Result<Vec<Inserted>> {
    let now = now_ms();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let outcomes = group
        .iter()
        .map(|insert| insert_one(&tx, limits, now, insert.id.as_str(), &insert.record))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    tx.commit()?;
    Ok(outcomes)
}

fn insert_alone(
    conn: &mut Connection,
    limits: Limits,
    insert: &PendingInsert,
) -> rusqlite::Result<Inserted> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let outcome = insert_one(&tx, limits, now_ms(), insert.id.as_str(), &insert.record)?;
    tx.commit()?;
    Ok(outcome)
}

/// One insert inside the caller's transaction.
fn insert_one(
    tx: &rusqlite::Transaction<'_>,
    limits: Limits,
    now: i64,
    id: &str,
    record: &[u8],
) -> rusqlite::Result<Inserted> {
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
        if read_count(tx)? >= cap {
            // Expired rows may be holding the room.
            purge(tx)?;
            if read_count(tx)? >= cap {
                return Ok(Inserted::Full(capacity));
            }
        }
    }
    tx.prepare_cached("INSERT INTO sessions (id, record, expires_at) VALUES (?1, ?2, ?3)")?
        .execute(params![id, record, limits.expires_at(now)])?;
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

#[derive(Debug)]
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
        self.submit(Job::Call(Box::new(move |conn| {
            if !tx.is_closed() {
                let _ = tx.send(work(conn));
            }
        })))?;
        rx.await
            .map_err(|e| StoreError::unavailable("the sqlite thread dropped a call", e))?
    }

    /// Queues a job for the database thread, or fails at once when the queue is full or the
    /// thread has stopped.
    fn submit(&self, job: Job) -> Result<(), StoreError> {
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => StoreError::Unavailable {
                message: format!("{QUEUE} sqlite calls are already waiting"),
                source: None,
            },
            TrySendError::Disconnected(_) => StoreError::Unavailable {
                message: "the sqlite thread has stopped".to_owned(),
                source: None,
            },
        })
    }
}

#[async_trait]
impl Backend for SqliteBackend {
    async fn insert(&self, id: &SessionId, record: Vec<u8>) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Insert(PendingInsert {
            id: id.clone(),
            record,
            reply,
        }))?;
        answer
            .await
            .map_err(|e| StoreError::unavailable("the sqlite thread dropped an insert", e))?
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

#[cfg(test)]
mod tests {
    use std::sync::mpsc as std_mpsc;

    use tiny_opentok_domain::Session;

    use super::*;
    use crate::conformance::fresh_session;
    use crate::record;

    type Answer = oneshot::Receiver<Result<bool, StoreError>>;

    fn pending(session: &Session) -> (PendingInsert, Answer) {
        let (reply, answer) = oneshot::channel();
        let insert = PendingInsert {
            id: session.id.clone(),
            record: record::encode(session),
            reply,
        };
        (insert, answer)
    }

    fn group_of(sessions: &[&Session]) -> (Vec<PendingInsert>, Vec<Answer>) {
        sessions.iter().map(|s| pending(s)).unzip()
    }

    fn limits(capacity: Option<usize>) -> Limits {
        Limits {
            capacity,
            idle_ttl_ms: None,
            refresh_ms: 0,
        }
    }

    /// The ids committed to the file, as a separate connection sees them.
    fn committed_ids(path: &Path) -> Vec<String> {
        let conn = Connection::open(path).unwrap();
        let mut select = conn.prepare("SELECT id FROM sessions ORDER BY id").unwrap();
        let ids = select.query_map([], |row| row.get(0)).unwrap();
        ids.collect::<rusqlite::Result<_>>().unwrap()
    }

    fn sorted_ids(sessions: &[&Session]) -> Vec<String> {
        let mut ids: Vec<String> = sessions.iter().map(|s| s.id.as_str().to_owned()).collect();
        ids.sort();
        ids
    }

    #[test]
    fn a_group_answers_each_insert_as_if_it_had_run_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut conn = connect(&path, Duration::from_secs(5)).unwrap();
        let [a, b, gone, c, d] = [(); 5].map(|()| fresh_session());
        let (group, mut answers) = group_of(&[&a, &b, &a, &gone, &c, &d]);
        // The caller of `gone` timed out before the group ran.
        drop(answers.remove(3));

        commit_inserts(&mut conn, limits(Some(3)), group);

        let got: Vec<_> = answers
            .into_iter()
            .map(|mut answer| answer.try_recv().expect("every caller is answered"))
            .collect();
        assert!(
            matches!(
                got[..],
                [
                    Ok(true),
                    Ok(true),
                    Ok(false),
                    Ok(true),
                    Err(StoreError::Full { capacity: 3 })
                ]
            ),
            "stored, stored, duplicate of the first, stored, full: {got:?}"
        );
        assert_eq!(committed_ids(&path), sorted_ids(&[&a, &b, &c]));
    }

    #[test]
    fn an_insert_that_fails_inside_a_group_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut conn = connect(&path, Duration::from_secs(5)).unwrap();
        let [a, bad, b] = [(); 3].map(|()| fresh_session());
        conn.execute_batch(&format!(
            "CREATE TRIGGER refuse_one BEFORE INSERT ON sessions WHEN NEW.id = '{}' \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
            bad.id.as_str()
        ))
        .unwrap();
        let (group, answers) = group_of(&[&a, &bad, &b]);

        commit_inserts(&mut conn, limits(None), group);

        let got: Vec<_> = answers
            .into_iter()
            .map(|mut answer| answer.try_recv().expect("every caller is answered"))
            .collect();
        assert!(
            matches!(
                got[..],
                [Ok(true), Err(StoreError::Backend { .. }), Ok(true)]
            ),
            "{got:?}"
        );
        assert_eq!(committed_ids(&path), sorted_ids(&[&a, &b]));
    }

    #[tokio::test]
    async fn inserts_queued_while_the_thread_is_busy_share_one_commit() {
        const INSERTS: usize = 32;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let store = SqliteStore::open(&path, &StoreOptions::default())
            .await
            .unwrap();
        let backend = store.inner.backend();
        let page_size: u64 = Connection::open(&path)
            .unwrap()
            .pragma_query_value(None, "page_size", |row| row.get(0))
            .unwrap();
        let wal = path.with_extension("db-wal");
        let (release, held) = std_mpsc::channel::<()>();
        let (holding, busy) = oneshot::channel::<()>();
        backend
            .submit(Job::Call(Box::new(move |_| {
                let _ = holding.send(());
                let _ = held.recv();
            })))
            .unwrap();
        busy.await.unwrap();
        let wal_before = std::fs::metadata(&wal).map_or(0, |m| m.len());
        let sessions: Vec<Session> = (0..INSERTS).map(|_| fresh_session()).collect();
        let mut answers = Vec::new();
        for session in &sessions {
            let (insert, answer) = pending(session);
            backend.submit(Job::Insert(insert)).unwrap();
            answers.push(answer);
        }

        release.send(()).unwrap();
        for answer in answers {
            assert!(matches!(answer.await, Ok(Ok(true))));
        }

        let frames = (std::fs::metadata(&wal).unwrap().len() - wal_before) / (page_size + 24);
        // Each commit appends at least the table's page and the count's page to the WAL.
        assert!(
            frames < INSERTS as u64,
            "{frames} WAL frames for {INSERTS} inserts: they were not committed together"
        );
        let all: Vec<&Session> = sessions.iter().collect();
        assert_eq!(committed_ids(&path), sorted_ids(&all));
    }
}
