//! Fault injection and latency, observed by real clients.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use opentok_mock::{Fault, MockConfig, MockOpenTok};

use crate::helpers::*;

/// Fails a test that would otherwise hang forever; not a performance threshold.
const HANG_GUARD: Duration = Duration::from_secs(60);

#[actix_web::test]
async fn status_fault_counts_down_then_answers_normally() {
    let mock = start().await;
    let jwt = good_jwt();
    mock.set_fault(Fault::Status(503), Some(2));

    let first = create(&mock, Some(&jwt), ROUTED).await;
    let second = create(&mock, Some(&jwt), ROUTED).await;
    let third = create(&mock, Some(&jwt), ROUTED).await;

    for answer in [&first, &second] {
        assert_eq!(answer.status, 503);
        assert_eq!(answer.content_type(), "text/xml");
        assert!(answer.body.is_empty(), "{}", answer.text());
    }
    assert_eq!(third.status, 200, "{}", third.text());
    assert_eq!(mock.requests().len(), 3);
    assert_eq!(mock.sessions_created(), 1);
    mock.stop().await;
}

#[actix_web::test]
async fn status_fault_bodies_look_like_opentok() {
    let mock = start().await;
    let jwt = good_jwt();
    let mut seen = Vec::new();

    for code in [400, 403, 404, 409, 500, 1000] {
        mock.set_fault(Fault::Status(code), Some(1));
        let answer = create(&mock, Some(&jwt), ROUTED).await;
        seen.push((code, answer.status.as_u16(), answer.json()));
    }

    assert_eq!(seen[0].1, 400);
    assert_eq!(
        seen[0].2,
        serde_json::json!({"code": 400, "message": "Bad Request"})
    );
    assert_eq!(seen[1].1, 403);
    assert_eq!(
        seen[1].2,
        serde_json::json!({"code": -1, "message": "No suitable authentication found"})
    );
    assert_eq!(seen[2].1, 404);
    assert_eq!(seen[3].2["code"], 409);
    assert_eq!(seen[4].2["code"], 500);
    assert_eq!(seen[5].1, 500, "an impossible status answers 500");
    mock.stop().await;
}

#[actix_web::test]
async fn zero_times_sets_no_fault() {
    let mock = start().await;
    mock.set_fault(Fault::Status(500), Some(0));

    let answer = create(&mock, Some(&good_jwt()), ROUTED).await;

    assert_eq!(answer.status, 200);
    mock.stop().await;
}

#[actix_web::test]
async fn a_new_fault_replaces_the_old_one() {
    let mock = start().await;
    mock.set_fault(Fault::Status(500), None);
    mock.set_fault(Fault::Status(502), Some(1));

    let first = create(&mock, Some(&good_jwt()), ROUTED).await;
    let second = create(&mock, Some(&good_jwt()), ROUTED).await;

    assert_eq!(first.status, 502);
    assert_eq!(second.status, 200);
    mock.stop().await;
}

#[actix_web::test]
async fn faults_apply_to_the_session_route_only() {
    let mock = start().await;
    mock.set_fault(Fault::Status(500), None);

    let other = send(client().get(format!("{}/nowhere", mock.url())), "").await;

    assert_eq!(other.status, 404);
    assert_eq!(mock.requests().len(), 1);
    mock.stop().await;
}

#[actix_web::test]
async fn garbage_is_a_200_that_is_not_json() {
    let mock = start().await;
    mock.set_fault(Fault::Garbage, Some(1));

    let answer = create(&mock, Some(&good_jwt()), ROUTED).await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type(), "application/json");
    assert!(serde_json::from_slice::<serde_json::Value>(&answer.body).is_err());
    assert_eq!(mock.sessions_created(), 0);
    mock.stop().await;
}

#[actix_web::test]
async fn delay_waits_then_answers_normally() {
    let mock = start().await;
    let delay = Duration::from_millis(300);
    mock.set_fault(Fault::Delay(delay), Some(2));

    let started = Instant::now();
    let ok = create(&mock, Some(&good_jwt()), ROUTED).await;
    let ok_elapsed = started.elapsed();
    let refused = create(&mock, None, ROUTED).await;

    assert_eq!(ok.status, 200);
    assert!(ok_elapsed >= delay, "answered after {ok_elapsed:?}");
    assert_eq!(refused.status, 403, "a delayed request is still checked");
    assert_eq!(mock.sessions_created(), 1);
    mock.stop().await;
}

#[actix_web::test]
async fn latency_delays_every_answer() {
    let latency = Duration::from_millis(200);
    let mut config = MockConfig::new(KEY, SECRET);
    config.latency = latency;
    let mock = MockOpenTok::start(config).await.unwrap();

    let started = Instant::now();
    let created = create(&mock, Some(&good_jwt()), ROUTED).await;
    let created_elapsed = started.elapsed();
    let started = Instant::now();
    let missing = send(client().get(format!("{}/nowhere", mock.url())), "").await;
    let missing_elapsed = started.elapsed();

    assert_eq!(created.status, 200);
    assert_eq!(missing.status, 404);
    assert!(created_elapsed >= latency, "{created_elapsed:?}");
    assert!(missing_elapsed >= latency, "{missing_elapsed:?}");
    mock.stop().await;
}

#[actix_web::test]
async fn latency_can_be_changed_at_runtime() {
    let mock = start().await;
    let latency = Duration::from_millis(250);
    mock.set_latency(latency);

    let started = Instant::now();
    let answer = create(&mock, Some(&good_jwt()), ROUTED).await;

    assert_eq!(answer.status, 200);
    assert!(started.elapsed() >= latency);
    mock.stop().await;
}

#[actix_web::test]
async fn hang_never_answers() {
    let mock = start().await;
    mock.set_fault(Fault::Hang, None);
    let impatient = awc::Client::builder()
        .timeout(Duration::from_millis(300))
        .finish();

    let result = impatient
        .post(format!("{}/session/create", mock.url()))
        .insert_header(("X-OPENTOK-AUTH", good_jwt()))
        .send_body(ROUTED)
        .await;

    assert!(
        matches!(result, Err(awc::error::SendRequestError::Timeout)),
        "{result:?}"
    );
    assert_eq!(mock.requests().len(), 1, "a hung request is recorded");
    tokio::time::timeout(HANG_GUARD, mock.stop())
        .await
        .expect("stop() returns");
}

/// Holds one request with `fault`, stops the mock, and checks that stop() returns and the held
/// client gets an error rather than an answer.
async fn assert_stop_releases_a_held_request(fault: Fault) {
    let mock = start().await;
    mock.set_fault(fault.clone(), None);
    let url = format!("{}/session/create", mock.url());
    let pending = actix_rt::spawn(async move {
        client()
            .post(url)
            .insert_header(("X-OPENTOK-AUTH", good_jwt()))
            .send_body(ROUTED)
            .await
            .map(|res| res.status())
    });
    tokio::time::timeout(HANG_GUARD, async {
        while mock.requests().is_empty() {
            actix_rt::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the request arrives");

    tokio::time::timeout(HANG_GUARD, mock.stop())
        .await
        .unwrap_or_else(|_| panic!("stop() returns while {fault:?} holds a request"));

    let outcome = tokio::time::timeout(HANG_GUARD, pending)
        .await
        .expect("the client is released")
        .expect("the task ran");
    assert!(
        outcome.is_err(),
        "the held request got an answer: {outcome:?}"
    );
}

#[actix_web::test]
async fn stop_releases_a_request_held_by_hang() {
    assert_stop_releases_a_held_request(Fault::Hang).await;
}

#[actix_web::test]
async fn close_connection_fails_an_awc_request() {
    let mock = start().await;
    mock.set_fault(Fault::CloseConnection, Some(1));

    let result = client()
        .post(format!("{}/session/create", mock.url()))
        .insert_header(("X-OPENTOK-AUTH", good_jwt()))
        .send_body(ROUTED)
        .await;
    let next = create(&mock, Some(&good_jwt()), ROUTED).await;

    match result {
        Ok(res) => panic!("got an HTTP answer: {}", res.status()),
        Err(awc::error::SendRequestError::Timeout) => panic!("timed out instead of closing"),
        Err(_) => {}
    }
    assert_eq!(next.status, 200, "the fault was for one request");
    assert_eq!(mock.requests().len(), 2);
    mock.stop().await;
}

#[actix_web::test]
async fn close_connection_sends_no_bytes_at_all() {
    let mock = start().await;
    mock.set_fault(Fault::CloseConnection, None);
    let addr = mock.url().trim_start_matches("http://").to_owned();
    let jwt = good_jwt();

    let received = actix_rt::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).expect("connects");
        stream.set_read_timeout(Some(HANG_GUARD)).unwrap();
        let request = format!(
            "POST /session/create HTTP/1.1\r\nHost: 127.0.0.1\r\nX-OPENTOK-AUTH: {jwt}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{ROUTED}",
            ROUTED.len()
        );
        stream.write_all(request.as_bytes()).expect("sends");
        let mut received = Vec::new();
        match stream.read_to_end(&mut received) {
            Ok(_) => Ok(received),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Ok(received),
            Err(e) => Err(e),
        }
    })
    .await
    .expect("the blocking task ran");

    let received = received.expect("the connection ends (EOF or reset), not a timeout");
    assert!(
        received.is_empty(),
        "got bytes: {:?}",
        String::from_utf8_lossy(&received)
    );
    assert_eq!(mock.requests().len(), 1);
    mock.stop().await;
}

#[actix_web::test]
async fn a_counted_hang_holds_one_request_and_serves_the_next() {
    let mock = start().await;
    mock.set_fault(Fault::Hang, Some(1));
    let url = format!("{}/session/create", mock.url());
    let held = actix_rt::spawn(async move {
        client()
            .post(url)
            .insert_header(("X-OPENTOK-AUTH", good_jwt()))
            .send_body(ROUTED)
            .await
            .map(|res| res.status())
    });
    tokio::time::timeout(HANG_GUARD, async {
        while mock.requests().is_empty() {
            actix_rt::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the first request arrives");

    let next = create(&mock, Some(&good_jwt()), ROUTED).await;

    assert_eq!(next.status, 200);
    assert!(!held.is_finished(), "the held request was answered");
    tokio::time::timeout(HANG_GUARD, mock.stop())
        .await
        .expect("stop() returns");
    let outcome = held.await.expect("the task ran");
    assert!(outcome.is_err(), "{outcome:?}");
}

#[actix_web::test]
async fn stop_cuts_a_long_delay_short() {
    assert_stop_releases_a_held_request(Fault::Delay(Duration::from_secs(3600))).await;
}
