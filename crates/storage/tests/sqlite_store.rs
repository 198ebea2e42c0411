//! SqliteStore against real database files in temporary folders.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tiny_opentok_storage::conformance::{self, fresh_session, MIN_CAPACITY};
use tiny_opentok_storage::{open_store, SessionStore, SqliteStore, StoreError, StoreOptions};

fn options() -> StoreOptions {
    StoreOptions::default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("s.db"), &options())
        .await
        .unwrap();

    conformance::run_all(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_with_exactly_enough_capacity_a_ttl_and_no_cache_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        capacity: Some(MIN_CAPACITY),
        idle_ttl: Some(Duration::from_secs(3600)),
        cache_capacity: 0,
        ..options()
    };
    let store = SqliteStore::open(dir.path().join("s.db"), &options)
        .await
        .unwrap();

    conformance::run_all(Arc::new(store)).await;
}

#[tokio::test]
async fn sessions_survive_dropping_and_reopening_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let sessions: Vec<_> = (0..3).map(|_| fresh_session()).collect();
    let store = SqliteStore::open(&path, &options()).await.unwrap();
    for session in &sessions {
        store.insert(session.clone()).await.unwrap();
    }
    drop(store);

    let reopened = SqliteStore::open(&path, &options()).await.unwrap();

    assert_eq!(reopened.count().await.unwrap(), 3);
    for session in &sessions {
        assert_eq!(
            reopened.get(&session.id).await.unwrap().as_ref(),
            Some(session)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_inserts_have_committed_when_they_return_and_all_survive_reopening() {
    const INSERTS: usize = 400;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    // A generous timeout: this checks what is stored, not how fast.
    let options = StoreOptions {
        timeout: Duration::from_secs(30),
        ..options()
    };
    let store = Arc::new(SqliteStore::open(&path, &options).await.unwrap());
    let sessions: Vec<_> = (0..INSERTS).map(|_| fresh_session()).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for session in sessions.clone() {
        let (store, path) = (Arc::clone(&store), path.clone());
        tasks.spawn(async move {
            store.insert(session.clone()).await?;
            // Another connection sees the row once the insert has returned: it had committed.
            let seen = tokio::task::spawn_blocking(move || {
                Connection::open(&path)?.query_row(
                    "SELECT count(*) FROM sessions WHERE id = ?1",
                    [session.id.as_str()],
                    |row| row.get::<_, i64>(0),
                )
            })
            .await
            .expect("the check ran")
            .expect("the file is readable");
            Ok::<_, StoreError>(seen)
        });
    }
    while let Some(done) = tasks.join_next().await {
        let seen = done.expect("the task ran").expect("the insert succeeded");
        assert_eq!(seen, 1, "an insert returned before its row was committed");
    }
    drop(store);

    let reopened = SqliteStore::open(
        &path,
        &StoreOptions {
            cache_capacity: 0,
            ..options
        },
    )
    .await
    .unwrap();

    assert_eq!(reopened.count().await.unwrap(), INSERTS);
    for session in &sessions {
        assert_eq!(
            reopened.get(&session.id).await.unwrap().as_ref(),
            Some(session)
        );
    }
}

#[tokio::test]
async fn open_store_creates_missing_folders_and_a_versioned_wal_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/sessions.db");
    let url = format!("sqlite://{}", path.display());

    let store = open_store(&url, &options()).await.unwrap();
    let session = fresh_session();
    store.insert(session.clone()).await.unwrap();
    store.ping().await.unwrap();

    let conn = Connection::open(&path).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!((version, mode.as_str()), (1, "wal"));
    let stored: i64 = conn
        .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, 1, "the insert had committed when it returned");
}

#[tokio::test]
async fn a_database_from_a_newer_release_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();

    let err = SqliteStore::open(&path, &options()).await.unwrap_err();

    assert!(matches!(err, StoreError::Backend { .. }), "{err:?}");
    assert!(err.to_string().contains("schema version 99"), "{err}");
}

#[tokio::test]
async fn an_unreadable_record_is_not_found_and_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = SqliteStore::open(&path, &options()).await.unwrap();
    let session = fresh_session();
    Connection::open(&path)
        .unwrap()
        .execute(
            "INSERT INTO sessions (id, record, expires_at) VALUES (?1, ?2, NULL)",
            rusqlite::params![session.id.as_str(), b"\x01garbage".as_slice()],
        )
        .unwrap();

    assert_eq!(store.get(&session.id).await.unwrap(), None);
    assert_eq!(store.find(session.id.as_str()).await.unwrap(), None);

    assert_eq!(store.corrupt_records(), 1);
    assert_eq!(store.remove(&session.id).await.unwrap(), None);
    assert_eq!(
        store.corrupt_records(),
        1,
        "the same record is counted once"
    );
    store.insert(session.clone()).await.unwrap();
    assert_eq!(store.get(&session.id).await.unwrap(), Some(session));
}

#[tokio::test]
async fn capacity_is_enforced_and_freed_by_removals() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        capacity: Some(2),
        ..options()
    };
    let store = SqliteStore::open(dir.path().join("s.db"), &options)
        .await
        .unwrap();
    let (a, b) = (fresh_session(), fresh_session());
    store.insert(a.clone()).await.unwrap();
    store.insert(b.clone()).await.unwrap();

    let full = store.insert(fresh_session()).await;
    let duplicate = store.insert(a.clone()).await;

    assert!(
        matches!(full, Err(StoreError::Full { capacity: 2 })),
        "{full:?}"
    );
    assert!(
        matches!(duplicate, Err(StoreError::AlreadyExists { .. })),
        "a duplicate is reported as such even when full: {duplicate:?}"
    );
    store.remove(&a.id).await.unwrap();
    store.insert(fresh_session()).await.unwrap();
}

#[tokio::test]
async fn idle_sessions_expire_across_a_restart_and_reads_keep_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let options = StoreOptions {
        idle_ttl: Some(Duration::from_secs(2)),
        capacity: Some(1),
        ..options()
    };
    let store = SqliteStore::open(&path, &options).await.unwrap();
    let (idle, read) = (fresh_session(), fresh_session());
    store.insert(idle.clone()).await.unwrap();
    drop(store);
    let store = SqliteStore::open(&path, &options).await.unwrap();
    assert_eq!(store.count().await.unwrap(), 1);

    tokio::time::sleep(Duration::from_millis(2500)).await;

    assert_eq!(store.count().await.unwrap(), 0);
    assert_eq!(store.get(&idle.id).await.unwrap(), None);
    // The expired row made room under the capacity of 1.
    store.insert(read.clone()).await.unwrap();
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(store.get(&read.id).await.unwrap().as_ref(), Some(&read));
    }
    drop(store);
    let reopened = SqliteStore::open(&path, &options).await.unwrap();
    assert_eq!(
        reopened.get(&read.id).await.unwrap().as_ref(),
        Some(&read),
        "reads 2.8 s after the insert kept a 2 s TTL session alive"
    );
}

#[tokio::test]
async fn a_locked_database_answers_unavailable_within_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let timeout = Duration::from_millis(200);
    let store = SqliteStore::open(
        &path,
        &StoreOptions {
            timeout,
            ..options()
        },
    )
    .await
    .unwrap();
    let locker = Connection::open(&path).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();

    let started = Instant::now();
    let result = store.insert(fresh_session()).await;
    let took = started.elapsed();

    assert!(
        matches!(result, Err(StoreError::Unavailable { .. })),
        "{result:?}"
    );
    assert!(took < timeout * 5, "took {took:?}");
    locker.execute_batch("ROLLBACK").unwrap();
    // The thread is free again once its busy wait ends.
    let mut stored = false;
    for _ in 0..20 {
        if store.insert(fresh_session()).await.is_ok() {
            stored = true;
            break;
        }
        tokio::time::sleep(timeout).await;
    }
    assert!(stored, "the store did not recover from the lock");
}
