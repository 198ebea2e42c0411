//! RedisStore against a real Redis: the shared one at `REDIS_URL` (default
//! `redis://127.0.0.1:6379`), each test under its own key prefix, and for the outage tests a
//! `redis-server` of our own on a free port. An unreachable Redis fails the tests; it never
//! skips them.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tiny_opentok_storage::conformance::{self, fresh_session};
use tiny_opentok_storage::{open_store, RedisStore, SessionStore, StoreError, StoreOptions};

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A key prefix no other test or run uses.
fn unique_prefix() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "tos-test:{}:{nanos}:{}:",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn options(prefix: &str) -> StoreOptions {
    StoreOptions {
        key_prefix: prefix.to_owned(),
        ..StoreOptions::default()
    }
}

async fn connect_at(url: &str, options: &StoreOptions) -> RedisStore {
    match RedisStore::connect(url, options).await {
        Ok(store) => store,
        Err(e) => {
            panic!("Redis at {url} is unreachable ({e}); start one (redis-server) or set REDIS_URL")
        }
    }
}

async fn connect(options: &StoreOptions) -> RedisStore {
    connect_at(&redis_url(), options).await
}

/// A raw connection, to write or inspect keys behind the store's back.
async fn raw() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("Redis at {} is unreachable: {e}", redis_url()))
}

/// Deletes a test's keys afterwards, so runs leave nothing behind.
async fn clean(prefix: &str) {
    let mut conn = raw().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: i64 = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_store_conforms() {
    let prefix = unique_prefix();
    let store = connect(&options(&prefix)).await;

    conformance::run_all(Arc::new(store)).await;
    clean(&prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_store_with_a_ttl_and_no_cache_conforms() {
    let prefix = unique_prefix();
    let store = connect(&StoreOptions {
        idle_ttl: Some(Duration::from_secs(3600)),
        cache_capacity: 0,
        ..options(&prefix)
    })
    .await;

    conformance::run_all(Arc::new(store)).await;
    clean(&prefix).await;
}

#[tokio::test]
async fn open_store_accepts_a_redis_url_and_keys_sit_under_the_prefix() {
    let prefix = unique_prefix();
    let store = open_store(&redis_url(), &options(&prefix)).await.unwrap();
    let session = fresh_session();
    store.insert(session.clone()).await.unwrap();

    let mut conn = raw().await;
    let key = format!("{prefix}s:{}", session.id);
    let value: Vec<u8> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(value.len(), 10, "a session without location is 10 bytes");
    assert_eq!(ttl, -1, "no idle TTL, no expiry");
    clean(&prefix).await;
}

#[tokio::test]
async fn the_idle_ttl_is_shared_by_every_instance() {
    let prefix = unique_prefix();
    let options = StoreOptions {
        idle_ttl: Some(Duration::from_secs(2)),
        ..options(&prefix)
    };
    let (a, b) = (connect(&options).await, connect(&options).await);
    let (kept, idle) = (fresh_session(), fresh_session());
    a.insert(kept.clone()).await.unwrap();
    a.insert(idle.clone()).await.unwrap();

    // Only instance a reads `kept`, from its cache; its refreshes keep it alive for b too.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(a.get(&kept.id).await.unwrap().as_ref(), Some(&kept));
    }

    assert_eq!(b.get(&kept.id).await.unwrap().as_ref(), Some(&kept));
    assert_eq!(b.get(&idle.id).await.unwrap(), None, "2.8 s unread");
    assert_eq!(b.count().await.unwrap(), 1);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(a.get(&kept.id).await.unwrap(), None, "2.5 s unread");
    assert_eq!(b.count().await.unwrap(), 0);
    clean(&prefix).await;
}

#[tokio::test]
async fn an_unreadable_record_is_not_found_and_counted_once() {
    let prefix = unique_prefix();
    let store = connect(&options(&prefix)).await;
    let session = fresh_session();
    let mut conn = raw().await;
    let _: () = redis::cmd("SET")
        .arg(store.key_for(&session.id))
        .arg(b"\x00not a record".as_slice())
        .query_async(&mut conn)
        .await
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
    clean(&prefix).await;
}

#[tokio::test]
async fn no_password_reaches_debug_output_or_errors() {
    let port = free_port();
    let url = format!("redis://app:hunter2@127.0.0.1:{port}/0");

    let err = RedisStore::connect(&url, &options("x:")).await.unwrap_err();
    let parsed = tiny_opentok_storage::StoreUrl::parse(&url).unwrap();

    let mut texts = vec![
        format!("{err:?}"),
        err.to_string(),
        format!("{parsed:?}"),
        parsed.to_string(),
    ];
    let mut source = std::error::Error::source(&err);
    while let Some(e) = source {
        texts.push(format!("{e:?} {e}"));
        source = e.source();
    }
    assert!(err.is_unavailable(), "{err:?}");
    for text in &texts {
        assert!(!text.contains("hunter2"), "{text}");
    }
    assert!(parsed.to_string().contains("app:***@127.0.0.1"), "{parsed}");
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A throwaway redis-server, killed by its PID when dropped.
struct OwnRedis {
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    fn start() -> Self {
        let mut server = Self {
            port: free_port(),
            child: None,
        };
        server.restart();
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server must be installed for the outage tests");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Child::kill signals this child's PID only.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test]
async fn calls_fail_fast_while_redis_is_down_and_work_again_after_it_returns() {
    let mut server = OwnRedis::start();
    let timeout = Duration::from_millis(300);
    let store = connect_at(
        &server.url(),
        &StoreOptions {
            timeout,
            ..options("tos:")
        },
    )
    .await;
    store.insert(fresh_session()).await.unwrap();

    server.kill();

    let missing = fresh_session();
    for _ in 0..3 {
        let started = Instant::now();
        let results = [
            store.get(&missing.id).await.err(),
            store.insert(fresh_session()).await.err(),
            store.ping().await.err(),
            store.count().await.err(),
        ];
        let took = started.elapsed();
        for result in results {
            assert!(
                result.as_ref().is_some_and(StoreError::is_unavailable),
                "{result:?}"
            );
        }
        assert!(took < timeout * 5 * 4, "four calls took {took:?}");
    }

    server.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.ping().await.is_err() {
        assert!(Instant::now() < deadline, "the store never reconnected");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let session = fresh_session();
    store.insert(session.clone()).await.unwrap();
    assert_eq!(store.get(&session.id).await.unwrap(), Some(session));
}

#[tokio::test]
async fn a_cached_session_is_served_while_redis_is_down() {
    let mut server = OwnRedis::start();
    let store = connect_at(
        &server.url(),
        &StoreOptions {
            timeout: Duration::from_millis(300),
            idle_ttl: Some(Duration::from_secs(3600)),
            ..options("tos:")
        },
    )
    .await;
    let (inserted, read) = (fresh_session(), fresh_session());
    store.insert(inserted.clone()).await.unwrap();
    let other = connect_at(&server.url(), &options("tos:")).await;
    other.insert(read.clone()).await.unwrap();
    assert_eq!(store.get(&read.id).await.unwrap().as_ref(), Some(&read));

    server.kill();

    assert!(store.ping().await.is_err(), "the backend is really down");
    assert_eq!(
        store.get(&inserted.id).await.unwrap(),
        Some(inserted.clone())
    );
    assert_eq!(store.find(read.id.as_str()).await.unwrap(), Some(read));
    assert!(store
        .get(&fresh_session().id)
        .await
        .unwrap_err()
        .is_unavailable());
}

#[tokio::test]
async fn a_thousand_reads_of_a_seen_session_send_redis_no_command() {
    let server = OwnRedis::start();
    let store = connect_at(
        &server.url(),
        &StoreOptions {
            idle_ttl: Some(Duration::from_secs(3600)),
            ..options("tos:")
        },
    )
    .await;
    let session = fresh_session();
    store.insert(session.clone()).await.unwrap();
    let mut conn = redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(&mut conn)
        .await
        .unwrap();

    for _ in 0..1000 {
        assert!(store.find(session.id.as_str()).await.unwrap().is_some());
    }

    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn)
        .await
        .unwrap();
    // At most one idle refresh may fall due while the loop runs (one per second per session).
    let store_calls: Vec<&str> = stats
        .lines()
        .filter(|l| l.starts_with("cmdstat_"))
        .filter(|l| !l.starts_with("cmdstat_config") && !l.starts_with("cmdstat_info:"))
        .collect();
    match store_calls.as_slice() {
        [] => {}
        [only] => assert!(only.starts_with("cmdstat_pexpire:calls=1,"), "{only}"),
        more => panic!("reads reached Redis: {more:?}"),
    }
}
