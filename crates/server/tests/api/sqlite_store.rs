//! `SESSION_STORE=sqlite://…` with the real binary: sessions outlive a graceful stop and a
//! `kill -9`, and a damaged record is a 404 that does not stop the server.

use std::time::Duration;

use actix_web::http::StatusCode;
use futures_util::stream::{FuturesUnordered, StreamExt as _};
use opentok_mock::{MockConfig, MockOpenTok};

use crate::helpers::{KEY, SECRET};
use crate::store_support::{create_session, get, mint, Server, TempDir};

fn store_env(dir: &TempDir) -> String {
    format!("sqlite://{}", dir.path().join("data/sessions.db").display())
}

#[actix_web::test]
async fn sqlite_sessions_outlive_a_restart() {
    let mock = MockOpenTok::start(MockConfig::new(KEY, SECRET))
        .await
        .unwrap();
    let dir = TempDir::new("sqlite-restart");
    let store = store_env(&dir);
    let env = [("SESSION_STORE", store.as_str())];
    let http = crate::store_support::client();

    let first = Server::start(&mock, &env, &dir.path().join("first.log"));
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(create_session(&http, &first).await);
    }
    first.stop().await;

    let second = Server::start(&mock, &env, &dir.path().join("second.log"));
    for id in &ids {
        let (status, body) = mint(&http, &second, id).await;
        assert_eq!(status, StatusCode::CREATED, "{id} after a restart: {body}");
    }
    second.stop().await;
    let log = std::fs::read_to_string(dir.path().join("second.log")).unwrap();
    assert!(
        log.contains("store=sqlite"),
        "the store is named at startup: {log}"
    );
    mock.stop().await;
}

#[actix_web::test]
async fn every_session_answered_201_survives_kill_9_during_a_burst() {
    // Each creation takes a while at OpenTok, so a burst is still in flight when the kill lands.
    let mock = MockOpenTok::start(MockConfig {
        latency: Duration::from_millis(150),
        ..MockConfig::new(KEY, SECRET)
    })
    .await
    .unwrap();
    let dir = TempDir::new("sqlite-kill");
    let store = store_env(&dir);
    let env = [("SESSION_STORE", store.as_str())];
    let http = crate::store_support::client();
    let mut server = Server::start(&mock, &env, &dir.path().join("first.log"));

    // 50 creations, started 10 ms apart, all in flight together.
    let url = format!("{}/session", server.url);
    let mut burst: FuturesUnordered<_> = (0..50u64)
        .map(|i| {
            let (http, url) = (http.clone(), url.clone());
            async move {
                actix_web::rt::time::sleep(Duration::from_millis(10 * i)).await;
                let mut res = http.post(url).send().await.ok()?;
                let body: serde_json::Value = res.json().await.ok()?;
                (res.status() == StatusCode::CREATED)
                    .then(|| body["id"].as_str().map(str::to_owned))?
            }
        })
        .collect();
    let mut created = Vec::new();
    let mut unanswered = 0;
    while let Some(answer) = burst.next().await {
        match answer {
            Some(id) => created.push(id),
            None => unanswered += 1,
        }
        if created.len() == 10 && server.is_running() {
            server.kill_9();
        }
    }
    assert!(
        created.len() >= 10,
        "201s before the kill: {}",
        created.len()
    );
    assert!(
        unanswered > 0,
        "the kill landed during the burst ({} created)",
        created.len()
    );

    let restarted = Server::start(&mock, &env, &dir.path().join("second.log"));
    for id in &created {
        let (status, body) = mint(&http, &restarted, id).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{id} answered 201, then lost: {body}"
        );
    }
    restarted.stop().await;
    mock.stop().await;
}

#[actix_web::test]
async fn a_damaged_sqlite_record_is_not_found_and_the_server_keeps_serving() {
    let mock = MockOpenTok::start(MockConfig::new(KEY, SECRET))
        .await
        .unwrap();
    let dir = TempDir::new("sqlite-corrupt");
    let store = store_env(&dir);
    // No read cache, so every token request reads the record.
    let env = [("SESSION_STORE", store.as_str()), ("STORE_CACHE_SIZE", "0")];
    let http = crate::store_support::client();
    let server = Server::start(&mock, &env, &dir.path().join("server.log"));
    let id = create_session(&http, &server).await;
    assert_eq!(mint(&http, &server, &id).await.0, StatusCode::CREATED);

    let db = rusqlite::Connection::open(dir.path().join("data/sessions.db")).unwrap();
    db.busy_timeout(Duration::from_secs(5)).unwrap();
    let changed = db
        .execute(
            "UPDATE sessions SET record = x'07ff' WHERE id = ?1",
            [id.as_str()],
        )
        .unwrap();
    assert_eq!(changed, 1, "the test damaged the session's row");

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
