//! `SESSION_STORE=redis://…` with the real binary: instances share sessions and their idle expiry,
//! an outage is 503 `store_unavailable` and then over without a restart, damaged records are 404,
//! and the password never shows. These fail (never skip) without Redis: the shared one at
//! `REDIS_URL` (default `redis://127.0.0.1:6379`) and `redis-server` on the `PATH`.

use std::process::Command;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use opentok_mock::{MockConfig, MockOpenTok};
use tiny_opentok_domain::{ApiKey, SessionId};

use crate::helpers::{KEY, SECRET};
use crate::store_support::{
    client, create_session, free_port, get, mint, post, redis_connection, redis_url, unique,
    OwnRedis, RedisKeys, Server, TempDir,
};

/// The shared Redis, checked to answer, with a key prefix of this test's own (deleted on drop).
fn shared_redis(tag: &str) -> RedisKeys {
    let url = redis_url();
    drop(redis_connection(&url));
    RedisKeys {
        url,
        prefix: format!("{}:", unique(tag)),
    }
}

async fn mock() -> MockOpenTok {
    MockOpenTok::start(MockConfig::new(KEY, SECRET))
        .await
        .unwrap()
}

#[actix_web::test]
async fn a_session_created_on_one_instance_mints_tokens_on_another() {
    let mock = mock().await;
    let keys = shared_redis("two");
    let dir = TempDir::new("redis-two");
    let env = [
        ("SESSION_STORE", keys.url.as_str()),
        ("STORE_KEY_PREFIX", keys.prefix.as_str()),
    ];
    let http = client();
    let a = Server::start(&mock, &env, &dir.path().join("a.log"));
    let b = Server::start(&mock, &env, &dir.path().join("b.log"));

    let id = create_session(&http, &a).await;
    let (status, body) = mint(&http, &b, &id).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "created on A, minted on B: {body}"
    );
    let on_b = create_session(&http, &b).await;
    assert_eq!(mint(&http, &a, &on_b).await.0, StatusCode::CREATED);

    a.stop().await;
    b.stop().await;
    mock.stop().await;
}

#[actix_web::test]
async fn use_through_one_instance_keeps_a_session_alive_on_the_other_and_unused_ones_expire() {
    let mock = mock().await;
    let keys = shared_redis("ttl");
    let dir = TempDir::new("redis-ttl");
    let env = [
        ("SESSION_STORE", keys.url.as_str()),
        ("STORE_KEY_PREFIX", keys.prefix.as_str()),
        ("STORE_IDLE_TTL_SECS", "2"),
    ];
    let http = client();
    let a = Server::start(&mock, &env, &dir.path().join("a.log"));
    let b = Server::start(&mock, &env, &dir.path().join("b.log"));

    let used = create_session(&http, &a).await;
    let unused = create_session(&http, &a).await;
    // B sees the session now, so later it answers from Redis only if its own copy is stale.
    assert_eq!(mint(&http, &b, &used).await.0, StatusCode::CREATED);

    // Used through A only, for more than twice the TTL.
    let until = Instant::now() + Duration::from_millis(5000);
    while Instant::now() < until {
        let (status, body) = mint(&http, &a, &used).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        actix_web::rt::time::sleep(Duration::from_millis(250)).await;
    }

    let (status, body) = mint(&http, &b, &used).await;
    assert_eq!(status, StatusCode::CREATED, "kept alive through A: {body}");
    for server in [&b, &a] {
        let (status, body) = mint(&http, server, &unused).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "unused for 5 s: {body}");
        assert_eq!(body["error"], "session_not_found");
    }

    a.stop().await;
    b.stop().await;
    mock.stop().await;
}

/// A valid session id nobody stored, so a server must ask Redis about it.
fn never_stored_id() -> String {
    let key = ApiKey::parse(KEY).unwrap();
    SessionId::encode(&key, None, 1_700_000_000_000, &unique("uncached"))
        .unwrap()
        .as_str()
        .to_owned()
}

#[actix_web::test]
async fn a_redis_outage_is_503_store_unavailable_and_serving_resumes_when_it_is_back() {
    let mock = mock().await;
    let mut redis = OwnRedis::start(&[]);
    let dir = TempDir::new("redis-outage");
    let url = redis.url();
    let timeout = Duration::from_millis(500);
    let env = [("SESSION_STORE", url.as_str()), ("STORE_TIMEOUT_MS", "500")];
    let http = client();
    let server = Server::start(&mock, &env, &dir.path().join("server.log"));
    let cached = create_session(&http, &server).await;
    let (status, _) = get(&http, &format!("{}/readyz", server.url)).await;
    assert_eq!(status, StatusCode::OK);

    redis.stop();
    let uncached = never_stored_id();
    for path in ["/session".to_owned(), format!("/session/{uncached}/access")] {
        let started = Instant::now();
        let (status, body, retry_after) = post(&http, &format!("{}{path}", server.url)).await;
        assert!(
            started.elapsed() < 6 * timeout,
            "{path} answered after {:?}",
            started.elapsed()
        );
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {body}");
        assert_eq!(body["error"], "store_unavailable", "{path}: {body}");
        assert_eq!(retry_after.as_deref(), Some("1"), "{path}");
    }
    let started = Instant::now();
    let (status, body) = get(&http, &format!("{}/readyz", server.url)).await;
    assert!(started.elapsed() < 6 * timeout);
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "not_ready", "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("store"),
        "{body}"
    );
    let (status, body) = mint(&http, &server, &cached).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "a cached session is served: {body}"
    );

    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = get(&http, &format!("{}/readyz", server.url)).await;
        if status == StatusCode::OK {
            assert_eq!(body["status"], "ready");
            break;
        }
        assert!(Instant::now() < deadline, "not ready again: {body}");
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
    let id = create_session(&http, &server).await;
    assert_eq!(mint(&http, &server, &id).await.0, StatusCode::CREATED);
    let (status, body) = mint(&http, &server, &uncached).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    server.stop().await;
    mock.stop().await;
}

#[actix_web::test]
async fn a_damaged_redis_record_is_not_found_and_the_server_keeps_serving() {
    let mock = mock().await;
    let keys = shared_redis("corrupt");
    let dir = TempDir::new("redis-corrupt");
    // No read cache, so every token request reads the record.
    let env = [
        ("SESSION_STORE", keys.url.as_str()),
        ("STORE_KEY_PREFIX", keys.prefix.as_str()),
        ("STORE_CACHE_SIZE", "0"),
    ];
    let http = client();
    let server = Server::start(&mock, &env, &dir.path().join("server.log"));
    let id = create_session(&http, &server).await;
    assert_eq!(mint(&http, &server, &id).await.0, StatusCode::CREATED);

    let key = format!("{}s:{id}", keys.prefix);
    let mut conn = redis_connection(&keys.url);
    let existed: bool = redis::cmd("EXISTS").arg(&key).query(&mut conn).unwrap();
    assert!(existed, "the session is stored under {key}");
    let () = redis::cmd("SET")
        .arg(&key)
        .arg(&b"\x07\xffnot a record"[..])
        .query(&mut conn)
        .unwrap();

    for _ in 0..2 {
        let (status, body) = mint(&http, &server, &id).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(body["error"], "session_not_found", "{body}");
    }
    let other = create_session(&http, &server).await;
    assert_eq!(mint(&http, &server, &other).await.0, StatusCode::CREATED);
    let (status, _) = get(&http, &format!("{}/readyz", server.url)).await;
    assert_eq!(status, StatusCode::OK);
    server.stop().await;
    mock.stop().await;
}

#[actix_web::test]
async fn the_redis_password_is_masked_in_the_startup_log() {
    let mock = mock().await;
    let redis = OwnRedis::start(&["--requirepass", "pw-s3cr3t-4242"]);
    let dir = TempDir::new("redis-password");
    let url = format!("redis://:pw-s3cr3t-4242@127.0.0.1:{}", redis.port);
    let server = Server::start(
        &mock,
        &[("SESSION_STORE", url.as_str())],
        &dir.path().join("server.log"),
    );
    let http = client();
    let id = create_session(&http, &server).await;
    assert_eq!(mint(&http, &server, &id).await.0, StatusCode::CREATED);
    let masked = format!("redis://:***@127.0.0.1:{}", redis.port);
    server.stop().await;
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
    assert!(log.contains(&masked), "logs the masked URL: {log}");
    assert!(!log.contains("pw-s3cr3t-4242"), "{log}");
    mock.stop().await;
}

/// Runs the binary (offline mock, port 0) until it exits, for at most 30 s: a server that
/// starts when it should not is killed and fails the test instead of hanging it.
fn run_to_exit(env: &[(&str, &str)]) -> (bool, String) {
    let dir = TempDir::new("exit");
    let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_tiny-opentok-server"))
        .env_clear()
        .args(["--mock-opentok", "--port", "0", "--host", "127.0.0.1"])
        .envs(env.iter().copied())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("runs");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "still running after 30 s: {}",
                std::fs::read_to_string(&out).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(&out).unwrap_or_default()
        + &std::fs::read_to_string(&err).unwrap_or_default();
    (status.success(), text)
}

#[test]
fn a_redis_that_is_down_or_refuses_the_password_stops_startup_with_one_clear_line() {
    let down = format!("redis://app:pw-d0wn-77@127.0.0.1:{}/0", free_port());
    let (ok, out) = run_to_exit(&[
        ("SESSION_STORE", down.as_str()),
        ("STORE_TIMEOUT_MS", "300"),
    ]);
    assert!(!ok, "{out}");
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.contains("SESSION_STORE") && last.contains("redis://app:***@127.0.0.1"),
        "{out}"
    );
    assert!(!out.contains("pw-d0wn-77"), "{out}");

    let redis = OwnRedis::start(&["--requirepass", "the-right-one"]);
    let wrong = format!("redis://:pw-wr0ng-77@127.0.0.1:{}", redis.port);
    let (ok, out) = run_to_exit(&[("SESSION_STORE", wrong.as_str())]);
    assert!(!ok, "{out}");
    assert!(
        out.lines()
            .last()
            .unwrap_or_default()
            .contains("SESSION_STORE"),
        "{out}"
    );
    assert!(!out.contains("pw-wr0ng-77"), "{out}");
}
