//! OpenTok failing: 502/504, nothing stored, and the server keeps serving.

use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use opentok_mock::Fault;

use futures_util::future::join_all;

use crate::helpers::*;

async fn assert_fault_maps(fault: Fault, status: StatusCode, code: &str) {
    let app = spawn_app().await;
    app.mock.set_fault(fault.clone(), Some(1));
    let (s, body) = app.post_empty("/session").await;
    assert_eq!(s, status, "{fault:?}: {body}");
    assert_eq!(body["error"], code, "{fault:?}");
    assert!(
        !body["message"].as_str().unwrap().contains(SECRET),
        "no secret in errors"
    );
    assert_eq!(app.stored().await, 0, "a failed creation stores nothing");
    // The fault was for one request only: the server still serves.
    app.create_session().await;
    assert_eq!(app.stored().await, 1);
    app.stop().await;
}

#[actix_web::test]
async fn upstream_500_is_502() {
    assert_fault_maps(
        Fault::Status(500),
        StatusCode::BAD_GATEWAY,
        "upstream_error",
    )
    .await;
}

#[actix_web::test]
async fn upstream_403_is_502_never_403() {
    assert_fault_maps(
        Fault::Status(403),
        StatusCode::BAD_GATEWAY,
        "upstream_error",
    )
    .await;
}

#[actix_web::test]
async fn upstream_garbage_is_502() {
    assert_fault_maps(Fault::Garbage, StatusCode::BAD_GATEWAY, "upstream_error").await;
}

#[actix_web::test]
async fn upstream_closing_the_connection_is_502() {
    assert_fault_maps(
        Fault::CloseConnection,
        StatusCode::BAD_GATEWAY,
        "upstream_error",
    )
    .await;
}

#[actix_web::test]
async fn upstream_hang_is_504_after_the_configured_timeout() {
    let app = spawn_with(|s| s.opentok.timeout = std::time::Duration::from_millis(300)).await;
    app.mock.set_fault(Fault::Hang, Some(1));
    let started = Instant::now();
    let (s, body) = app.post_empty("/session").await;
    assert_eq!(s, StatusCode::GATEWAY_TIMEOUT, "{body}");
    assert_eq!(body["error"], "upstream_timeout");
    // Only a lower bound: the upper one would be a timing threshold on a shared machine.
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(app.stored().await, 0);
    app.create_session().await;
    app.stop().await;
}

#[actix_web::test]
async fn wrong_credentials_are_502_not_401() {
    let app = spawn_with(|s| {
        s.opentok.secret = Some(secrecy::SecretString::from("wrong".to_owned()));
    })
    .await;
    let (s, body) = app.post_empty("/session").await;
    assert_eq!(s, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["error"], "upstream_error");
    assert_eq!(app.stored().await, 0);
    app.stop().await;
}

#[actix_web::test]
async fn refused_connection_is_502() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let app = spawn_with(|s| s.opentok.api_url = format!("http://127.0.0.1:{port}")).await;
    let (s, body) = app.post_empty("/session").await;
    assert_eq!(s, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["error"], "upstream_error");
    assert_eq!(app.stored().await, 0);
    assert_eq!(app.get("/healthz").await.0, StatusCode::OK);
    app.stop().await;
}

#[actix_web::test]
async fn store_full_is_503_and_the_store_stays_intact() {
    let app = spawn_with(|s| s.storage.capacity = Some(2)).await;
    app.create_session().await;
    let kept = app.create_session().await;
    let (s, body) = app.post_empty("/session").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "store_full");
    assert_eq!(app.stored().await, 2);
    let (s, _) = app.post_empty(&format!("/session/{kept}/access")).await;
    assert_eq!(s, StatusCode::CREATED);
    app.stop().await;
}

/// Our server's established connections to the mock: sockets whose remote port is the mock's.
fn established_to(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("Linux /proc/net/tcp");
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let remote_port = cols
                .get(2)
                .and_then(|r| r.split(':').nth(1))
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            remote_port == Some(port) && cols.get(3) == Some(&"01")
        })
        .count()
}

#[actix_web::test]
async fn a_burst_of_upstream_failures_leaks_no_connections() {
    let app = spawn_with(|s| s.opentok.timeout = std::time::Duration::from_millis(200)).await;
    let port: u16 = app.mock.url().rsplit(':').next().unwrap().parse().unwrap();
    app.create_session().await;
    let pooled = established_to(port);
    for fault in [Fault::Hang, Fault::CloseConnection, Fault::Hang] {
        app.mock.set_fault(fault.clone(), None);
        let answers = join_all((0..40).map(|_| app.post_empty("/session"))).await;
        for (status, body) in answers {
            assert!(
                status == StatusCode::GATEWAY_TIMEOUT || status == StatusCode::BAD_GATEWAY,
                "{fault:?}: {status} {body}"
            );
        }
    }
    app.mock.clear_fault();
    // Closed sockets leave ESTABLISHED at once; give the runtime a moment to drop them.
    let deadline = Instant::now() + Duration::from_secs(10);
    while established_to(port) > pooled + 2 && Instant::now() < deadline {
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let left = established_to(port);
    assert!(
        left <= pooled + 2,
        "{left} connections to OpenTok still open after the burst (was {pooled})"
    );
    assert_eq!(app.stored().await, 1, "no failed creation stored anything");
    app.create_session().await;
    assert_eq!(app.get("/healthz").await.0, StatusCode::OK);
    app.stop().await;
}
