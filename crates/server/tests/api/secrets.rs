//! The real binary, with a known secret, driven through every error path: neither the secret, nor
//! a client API key, nor any minted token or JWT may appear in its logs or answers.

use std::io::Read as _;

use actix_web::http::StatusCode;
use opentok_mock::{Fault, MockConfig, MockOpenTok};
use serde_json::json;

use crate::helpers::{sigterm, spawn_binary, KEY, SECRET};

const CLIENT_KEY: &str = "client-key-6f1d2a9b";

#[actix_web::test]
async fn secrets_and_tokens_never_reach_logs_or_answers() {
    let mock = MockOpenTok::start(MockConfig::new(KEY, SECRET))
        .await
        .unwrap();
    let (mut child, base) = spawn_binary(
        &mock,
        &[
            ("OPENTOK_TIMEOUT_MS", "300"),
            ("STORE_CAPACITY", "2"),
            ("API_KEYS", CLIENT_KEY),
            ("RUST_LOG", "debug"),
        ],
    );

    let http = awc::Client::default();
    let auth = format!("Bearer {CLIENT_KEY}");
    let mut answers: Vec<String> = Vec::new();
    let mut tokens: Vec<String> = Vec::new();
    let call = |method: &'static str,
                path: String,
                ct: Option<&'static str>,
                body: String,
                with_auth: bool| {
        let http = http.clone();
        let url = format!("{base}{path}");
        let auth = auth.clone();
        async move {
            let mut req = http.request(method.parse().unwrap(), url);
            if with_auth {
                req = req.insert_header(("Authorization", auth));
            }
            if let Some(ct) = ct {
                req = req.insert_header(("Content-Type", ct));
            }
            let mut res = req.send_body(body).await.expect("answer");
            let status = res.status();
            let text =
                String::from_utf8_lossy(&res.body().limit(1 << 20).await.unwrap()).into_owned();
            (status, text)
        }
    };

    let (s, created) = call("POST", "/session".into(), None, String::new(), true).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let id = serde_json::from_str::<serde_json::Value>(&created).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    answers.push(created);
    for body in [json!({}), json!({"role": "moderator", "data": "x"})] {
        let (s, text) = call(
            "POST",
            format!("/session/{id}/access"),
            Some("application/json"),
            body.to_string(),
            true,
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
        tokens.push(
            serde_json::from_str::<serde_json::Value>(&text).unwrap()["token"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let json = Some("application/json");
    let cases: Vec<(&str, String, Option<&'static str>, String, bool)> = vec![
        ("POST", "/session".into(), None, String::new(), false),
        (
            "POST",
            "/session".into(),
            Some("text/plain"),
            "x".into(),
            true,
        ),
        ("POST", "/session".into(), json, "{".into(), true),
        (
            "POST",
            "/session".into(),
            json,
            json!({"mediaMode": "x"}).to_string(),
            true,
        ),
        (
            "POST",
            format!("/session/{id}/access"),
            json,
            json!({"role": "x"}).to_string(),
            true,
        ),
        (
            "POST",
            format!("/session/{id}/access"),
            json,
            "x".repeat(20_000),
            true,
        ),
        (
            "POST",
            "/session/nope/access".into(),
            None,
            String::new(),
            true,
        ),
        ("GET", "/session".into(), None, String::new(), true),
        ("GET", "/missing".into(), None, String::new(), true),
    ];
    for (method, path, ct, body, with_auth) in cases {
        let (s, text) = call(method, path, ct, body, with_auth).await;
        assert!(s.is_client_error(), "{s} {text}");
        answers.push(text);
    }
    for fault in [
        Fault::Status(500),
        Fault::Status(403),
        Fault::Garbage,
        Fault::Hang,
        Fault::CloseConnection,
    ] {
        mock.set_fault(fault.clone(), Some(1));
        let (s, text) = call("POST", "/session".into(), None, String::new(), true).await;
        assert!(s.is_server_error(), "{fault:?}: {s} {text}");
        answers.push(text);
    }
    mock.clear_fault();
    let (s, _) = call("POST", "/session".into(), None, String::new(), true).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, text) = call("POST", "/session".into(), None, String::new(), true).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "store full: {text}");
    answers.push(text);

    // SIGTERM, not SIGKILL: the server writes out the log lines it still buffers before it exits,
    // so the lines of the last requests are scanned too.
    sigterm(&child);
    let status = actix_web::rt::task::spawn_blocking(move || {
        let status = child.wait();
        (status, child)
    })
    .await
    .unwrap();
    let (status, mut child) = status;
    assert!(status.unwrap().success(), "clean exit after SIGTERM");
    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    mock.stop().await;

    assert!(logs.contains("request"), "logs were captured: {logs}");
    assert!(
        logs.contains("status=503"),
        "the last request's line was flushed at exit: {logs}"
    );
    assert!(
        logs.contains("status=502") && logs.contains("status=504"),
        "error paths were logged: {logs}"
    );
    let haystacks = std::iter::once(logs.as_str()).chain(answers.iter().map(String::as_str));
    for text in haystacks {
        assert!(!text.contains(SECRET), "the API secret leaked: {text}");
        assert!(
            !text.contains(CLIENT_KEY),
            "a client API key leaked: {text}"
        );
        assert!(!text.contains("eyJ"), "a JWT leaked: {text}");
        for token in &tokens {
            assert!(!text.contains(token.as_str()), "a token leaked: {text}");
        }
        assert!(!text.contains("T1=="), "a T1 token leaked: {text}");
    }
}
