//! Protections for a server on a network: client API keys, CORS, header and slow-client limits.

use std::io::{Read as _, Write as _};
use std::sync::Arc;
use std::time::Duration;

use tiny_opentok_storage::{ManualClock, MemoryStore, MemoryStoreConfig, SessionStore};

use actix_web::http::StatusCode;

use crate::helpers::*;

async fn spawn_with_keys() -> TestApp {
    spawn_with(|s| s.auth.api_keys = vec!["k-one".to_owned().into(), "k-two".to_owned().into()])
        .await
}

async fn post_with_auth(
    app: &TestApp,
    path: &str,
    auth: Option<&str>,
) -> (StatusCode, serde_json::Value) {
    let mut req = app.http.post(format!("{}{path}", app.address));
    if let Some(value) = auth {
        req = req.insert_header(("Authorization", value));
    }
    let mut res = req.send().await.expect("sent");
    let status = res.status();
    if status == StatusCode::UNAUTHORIZED {
        assert_eq!(res.headers().get("www-authenticate").unwrap(), "Bearer");
    }
    (status, res.json().await.expect("JSON"))
}

#[actix_web::test]
async fn with_api_keys_every_route_but_health_needs_a_valid_bearer_key() {
    let app = spawn_with_keys().await;
    for auth in [
        None,
        Some("Bearer nope"),
        Some("k-one"),
        Some("Bearer k-on"),
        Some("Basic k-one"),
    ] {
        let answer = post_with_auth(&app, "/session", auth).await;
        assert_error(answer, StatusCode::UNAUTHORIZED, "unauthorized", "Bearer");
    }
    assert!(
        app.mock.requests().is_empty(),
        "refused before reaching OpenTok"
    );
    let (status, body) = post_with_auth(&app, "/session", Some("Bearer k-two")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let (status, _) = post_with_auth(&app, &format!("/session/{id}/access"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) =
        post_with_auth(&app, &format!("/session/{id}/access"), Some("Bearer k-one")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        app.get("/healthz").await.0,
        StatusCode::OK,
        "health stays open"
    );
    let (status, body) = app.get("/readyz").await;
    assert_eq!(status, StatusCode::OK, "readiness stays open too: {body}");
    assert_eq!(body["status"], "ready");
    let (status, _) = post_with_auth(&app, "/nope", None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "unknown routes do not leak without a key"
    );
    app.stop().await;
}

#[actix_web::test]
async fn without_api_keys_no_authorization_is_needed() {
    let app = spawn_app().await;
    let (status, _) = post_with_auth(&app, "/session", None).await;
    assert_eq!(status, StatusCode::CREATED);
    app.stop().await;
}

async fn preflight(
    app: &TestApp,
    origin: &str,
) -> awc::ClientResponse<
    impl futures_util::Stream<Item = Result<actix_web::web::Bytes, awc::error::PayloadError>>,
> {
    app.http
        .request(
            actix_web::http::Method::OPTIONS,
            format!("{}/session", app.address),
        )
        .insert_header(("Origin", origin))
        .insert_header(("Access-Control-Request-Method", "POST"))
        .insert_header((
            "Access-Control-Request-Headers",
            "content-type, authorization",
        ))
        .send()
        .await
        .expect("sent")
}

#[actix_web::test]
async fn cors_preflight_allows_configured_origins_only() {
    let app = spawn_with(|s| {
        s.auth.cors_allowed_origins = vec!["https://app.example".into()];
        s.auth.api_keys = vec!["k".to_owned().into()];
    })
    .await;
    let res = preflight(&app, "https://app.example").await;
    assert!(res.status().is_success(), "{}", res.status());
    let h = res.headers();
    assert_eq!(
        h.get("access-control-allow-origin").unwrap(),
        "https://app.example"
    );
    let methods = h
        .get("access-control-allow-methods")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(methods.contains("POST"), "{methods}");
    let headers = h
        .get("access-control-allow-headers")
        .unwrap()
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        headers.contains("authorization") && headers.contains("content-type"),
        "{headers}"
    );

    let mut res = preflight(&app, "https://evil.example").await;
    assert!(res.status().is_client_error(), "{}", res.status());
    assert!(res.headers().get("access-control-allow-origin").is_none());
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = res.json().await.expect("errors are JSON");
    assert_eq!(body["error"], "cors_rejected", "{body}");
    assert!(body["message"].is_string(), "{body}");

    // A real request from the allowed origin carries the header too.
    let res = app
        .http
        .post(format!("{}/session", app.address))
        .insert_header(("Origin", "https://app.example"))
        .insert_header(("Authorization", "Bearer k"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(
        res.headers().get("access-control-allow-origin").unwrap(),
        "https://app.example"
    );
    app.stop().await;
}

#[actix_web::test]
async fn without_cors_origins_no_cors_headers_are_sent() {
    let app = spawn_app().await;
    let res = preflight(&app, "https://app.example").await;
    assert!(res.headers().get("access-control-allow-origin").is_none());
    app.stop().await;
}

#[actix_web::test]
async fn oversized_headers_are_431() {
    let app = spawn_with(|s| s.http.max_header_bytes = 2048).await;
    let mut res = app
        .http
        .post(format!("{}/session", app.address))
        .insert_header(("X-Padding", "a".repeat(4096)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "headers_too_large");
    assert!(app.mock.requests().is_empty());
    let (status, _) = app.post_empty("/session").await;
    assert_eq!(status, StatusCode::CREATED, "normal requests pass");
    app.stop().await;
}

#[actix_web::test]
async fn a_client_too_slow_to_send_its_request_is_cut_off() {
    let app =
        spawn_with(|s| s.http.client_request_timeout = std::time::Duration::from_millis(200)).await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let answer = actix_web::rt::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        // A liveness bound for the test itself, far above the configured 200 ms.
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(b"POST /session HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        let mut answer = Vec::new();
        let closed = s.read_to_end(&mut answer).is_ok();
        (closed, String::from_utf8_lossy(&answer).into_owned())
    })
    .await
    .unwrap();
    let (closed, answer) = answer;
    assert!(
        closed,
        "the server closed the connection (the read did not time out)"
    );
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "closed or 408, got {answer:?}"
    );
    assert!(app.mock.requests().is_empty());
    app.stop().await;
}

#[actix_web::test]
async fn connections_beyond_the_limit_wait_for_a_free_slot() {
    let app = spawn_with(|s| {
        s.http.workers = Some(1);
        s.http.max_connections = 1;
    })
    .await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let (first_read_blocked, answer) = actix_web::rt::task::spawn_blocking(move || {
        // The one allowed connection, held open and idle.
        let holder = std::net::TcpStream::connect(&addr).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let mut waiting = std::net::TcpStream::connect(&addr).unwrap();
        waiting
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        waiting
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut buf = [0u8; 1];
        let first_read_blocked = waiting.read(&mut buf).is_err();
        drop(holder);
        // A liveness bound for the test itself.
        waiting
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut answer = Vec::new();
        let _ = waiting.read_to_end(&mut answer);
        (
            first_read_blocked,
            String::from_utf8_lossy(&answer).into_owned(),
        )
    })
    .await
    .unwrap();
    assert!(
        first_read_blocked,
        "the second connection was served while the first held the only slot"
    );
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "served once the slot freed: {answer:?}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn idle_sessions_expire_when_a_ttl_is_set() {
    let clock = Arc::new(ManualClock::new());
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::with_clock(
        MemoryStoreConfig {
            capacity: None,
            idle_ttl: Some(Duration::from_secs(60)),
        },
        clock.clone(),
    ));
    let app = spawn_custom(|_| {}, Some(store)).await;
    let id = app.create_session().await;
    let path = format!("/session/{id}/access");
    clock.advance(Duration::from_secs(59));
    assert_eq!(
        app.post_empty(&path).await.0,
        StatusCode::CREATED,
        "used within the TTL"
    );
    clock.advance(Duration::from_secs(59));
    assert_eq!(
        app.post_empty(&path).await.0,
        StatusCode::CREATED,
        "each use restarts the TTL"
    );
    clock.advance(Duration::from_secs(61));
    assert_error(
        app.post_empty(&path).await,
        StatusCode::NOT_FOUND,
        "session_not_found",
        "session",
    );
    assert_eq!(app.stored().await, 0);
    app.stop().await;
}
