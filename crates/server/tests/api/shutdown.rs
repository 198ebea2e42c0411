//! SIGTERM stops the real binary gracefully: a request in flight still gets its answer.

use std::time::Duration;

use actix_web::http::StatusCode;
use opentok_mock::{Fault, MockConfig, MockOpenTok};

use crate::helpers::{sigterm, spawn_binary, KEY, SECRET};

#[actix_web::test]
async fn sigterm_lets_in_flight_requests_finish() {
    let mock = MockOpenTok::start(MockConfig::new(KEY, SECRET))
        .await
        .unwrap();
    let (mut child, base) = spawn_binary(&mock, &[]);

    // OpenTok takes a second to answer, so the request is in flight when the signal lands.
    mock.set_fault(Fault::Delay(Duration::from_millis(1000)), Some(1));
    let http = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    let request = http.post(format!("{base}/session")).send();
    let signal = async {
        actix_web::rt::time::sleep(Duration::from_millis(300)).await;
        sigterm(&child);
    };
    let (answer, ()) = futures_util::future::join(request, signal).await;
    let mut answer = answer.expect("the in-flight request was answered");
    assert_eq!(answer.status(), StatusCode::CREATED);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert!(body["id"].is_string());
    let status = actix_web::rt::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "clean exit after SIGTERM: {status}");
    mock.stop().await;
}
