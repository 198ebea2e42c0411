//! The real awc client against opentok-mock (and, for transport failures, bare sockets) over real
//! HTTP on 127.0.0.1.

use std::collections::HashSet;
use std::io::Read;
use std::net::{Ipv4Addr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use opentok_client::{
    t1, ClientConfig, Credentials, HttpOpenTokClient, OpenTokApi, OpenTokError, TokenFormat,
};
use opentok_mock::{Fault, MockConfig, MockOpenTok};
use secrecy::SecretString;
use serde_json::Value;
use tiny_opentok_domain::{
    ApiKey, ArchiveMode, MediaMode, SessionId, SessionOptions, TokenOptions, TokenParams,
};

const KEY: &str = "123456";
const SECRET: &str = "1234567890abcdef1234567890abcdef1234567890";

async fn mock() -> MockOpenTok {
    MockOpenTok::start(MockConfig::new(KEY, SECRET))
        .await
        .unwrap()
}

fn client_with(base_url: &str, secret: &str, timeout: Duration) -> HttpOpenTokClient {
    let credentials = Credentials::new(ApiKey::parse(KEY).unwrap(), SecretString::from(secret));
    HttpOpenTokClient::new(ClientConfig {
        base_url: base_url.to_owned(),
        timeout,
        ..ClientConfig::new(credentials)
    })
}

fn client(base_url: &str) -> HttpOpenTokClient {
    client_with(base_url, SECRET, Duration::from_secs(5))
}

fn routed() -> SessionOptions {
    SessionOptions::default()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn verified_claims(jwt: &str) -> Value {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.required_spec_claims = HashSet::from(["exp".to_owned(), "iss".to_owned()]);
    validation.set_issuer(&[KEY]);
    jsonwebtoken::decode::<Value>(
        jwt,
        &DecodingKey::from_secret(SECRET.as_bytes()),
        &validation,
    )
    .unwrap()
    .claims
}

/// Errors must never carry the secret, in `Display` or `Debug`.
fn assert_secret_free(err: &OpenTokError) {
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(SECRET), "{shown}");
}

#[actix_web::test]
async fn sends_the_exact_create_request_and_returns_the_issued_id() {
    let mock = mock().await;
    let options = SessionOptions::new(
        MediaMode::Routed,
        ArchiveMode::Manual,
        Some(Ipv4Addr::new(12, 34, 56, 78)),
        true,
    )
    .unwrap();
    let before = unix_now();

    let id = client(mock.url()).create_session(&options).await.unwrap();

    assert!(id.belongs_to(&ApiKey::parse(KEY).unwrap()));
    assert_eq!(id.record().location(), Some(Ipv4Addr::new(12, 34, 56, 78)));
    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/session/create");
    assert_eq!(req.header("accept"), Some("application/json"));
    assert_eq!(
        req.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let agent = format!("opentok-client/{}", env!("CARGO_PKG_VERSION"));
    let agents: Vec<_> = req
        .headers
        .iter()
        .filter(|(n, _)| n == "user-agent")
        .collect();
    assert_eq!(agents.len(), 1, "{agents:?}");
    assert_eq!(agents[0].1, agent);
    assert_eq!(
        String::from_utf8(req.body.clone()).unwrap(),
        "p2p.preference=disabled&archiveMode=manual&location=12.34.56.78&e2ee=true"
    );

    let jwt = req.header("x-opentok-auth").unwrap();
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    assert_eq!(
        (header.alg, header.typ.as_deref()),
        (Algorithm::HS256, Some("JWT"))
    );
    let claims = verified_claims(jwt);
    assert_eq!(claims["iss"], KEY);
    assert_eq!(claims["ist"], "project");
    let iat = claims["iat"].as_u64().unwrap();
    assert!((before..=unix_now()).contains(&iat), "iat {iat}");
    assert_eq!(claims["exp"].as_u64(), Some(iat + 180));
    assert!(!claims["jti"].as_str().unwrap().is_empty());
    mock.stop().await;
}

#[actix_web::test]
async fn relayed_sessions_send_p2p_enabled_and_no_optional_fields() {
    let mock = mock().await;
    let options =
        SessionOptions::new(MediaMode::Relayed, ArchiveMode::Manual, None, false).unwrap();

    client(mock.url()).create_session(&options).await.unwrap();

    assert_eq!(
        mock.requests()[0].form(),
        vec![
            ("p2p.preference".to_owned(), "enabled".to_owned()),
            ("archiveMode".to_owned(), "manual".to_owned()),
        ]
    );
    mock.stop().await;
}

#[actix_web::test]
async fn every_call_gets_a_fresh_auth_jwt_over_the_same_client() {
    let mock = mock().await;
    let client = client(mock.url());

    let first = client.create_session(&routed()).await.unwrap();
    let second = client.create_session(&routed()).await.unwrap();

    assert_ne!(first, second);
    let jtis: Vec<Value> = mock
        .requests()
        .iter()
        .map(|r| verified_claims(r.header("x-opentok-auth").unwrap())["jti"].clone())
        .collect();
    assert_eq!(jtis.len(), 2);
    assert_ne!(jtis[0], jtis[1]);
    mock.stop().await;
}

#[actix_web::test]
async fn a_trailing_slash_in_the_base_url_is_tolerated() {
    let mock = mock().await;

    client(&format!("{}/", mock.url()))
        .create_session(&routed())
        .await
        .unwrap();

    assert_eq!(mock.requests()[0].path, "/session/create");
    mock.stop().await;
}

#[actix_web::test]
async fn each_error_status_maps_to_its_variant_without_retrying() {
    let mock = mock().await;
    let client = client(mock.url());
    for status in [400, 401, 403, 404, 409, 429, 500, 502, 503] {
        mock.clear_requests();
        mock.set_fault(Fault::Status(status), Some(1));

        let err = client.create_session(&routed()).await.unwrap_err();

        let ok = match status {
            401 | 403 => {
                matches!(err, OpenTokError::AuthenticationRefused { status: s } if s == status)
            }
            404 => matches!(err, OpenTokError::NotFound),
            400..=499 => matches!(&err, OpenTokError::InvalidRequest { status: s, message }
                if *s == status && !message.is_empty() && message != "no message"),
            _ => matches!(err, OpenTokError::Upstream { status: s } if s == status),
        };
        assert!(ok, "{status}: {err:?}");
        assert_secret_free(&err);
        assert_eq!(mock.requests().len(), 1, "{status}: retried");
    }
    mock.stop().await;
}

#[actix_web::test]
async fn a_wrong_secret_is_refused_as_bad_credentials() {
    let mock = mock().await;
    let wrong = "wrong-secret-0000000000000000000000000000";

    let err = client_with(mock.url(), wrong, Duration::from_secs(5))
        .create_session(&routed())
        .await
        .unwrap_err();

    assert!(
        matches!(err, OpenTokError::AuthenticationRefused { status: 403 }),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains(wrong));
    assert_eq!(
        mock.requests()[0].header(opentok_mock::AUTH_FAILURE_HEADER),
        None,
        "the failure header is a response header, never a request one"
    );
    mock.stop().await;
}

#[actix_web::test]
async fn a_garbage_200_body_is_a_malformed_response() {
    let mock = mock().await;
    mock.set_fault(Fault::Garbage, Some(1));

    let err = client(mock.url())
        .create_session(&routed())
        .await
        .unwrap_err();

    assert!(
        matches!(err, OpenTokError::MalformedResponse { .. }),
        "{err:?}"
    );
    assert_secret_free(&err);
    mock.stop().await;
}

#[actix_web::test]
async fn a_hang_times_out_once_without_a_retry() {
    let mock = mock().await;
    mock.set_fault(Fault::Hang, None);

    let err = client_with(mock.url(), SECRET, Duration::from_millis(300))
        .create_session(&routed())
        .await
        .unwrap_err();

    assert!(
        matches!(err, OpenTokError::Timeout { timeout_ms: 300 }),
        "{err:?}"
    );
    assert_eq!(mock.requests().len(), 1);
    assert_eq!(mock.sessions_created(), 0);
    mock.stop().await;
}

#[actix_web::test]
async fn a_slow_answer_past_the_deadline_is_a_timeout() {
    let mock = mock().await;
    mock.set_fault(Fault::Delay(Duration::from_secs(3)), Some(1));

    let err = client_with(mock.url(), SECRET, Duration::from_millis(300))
        .create_session(&routed())
        .await
        .unwrap_err();

    assert!(matches!(err, OpenTokError::Timeout { .. }), "{err:?}");
    assert_eq!(mock.requests().len(), 1);
    mock.stop().await;
}

#[actix_web::test]
async fn a_connection_closed_after_the_request_is_unreachable_and_not_retried() {
    let mock = mock().await;
    // Only the first request is faulted: a retry would succeed and create a second session.
    mock.set_fault(Fault::CloseConnection, Some(1));

    let err = client(mock.url())
        .create_session(&routed())
        .await
        .unwrap_err();

    assert!(matches!(err, OpenTokError::Unreachable { .. }), "{err:?}");
    assert_eq!(mock.requests().len(), 1);
    assert_eq!(mock.sessions_created(), 0);
    mock.stop().await;
}

#[actix_web::test]
async fn the_client_recovers_after_a_closed_connection() {
    let mock = mock().await;
    let client = client(mock.url());
    mock.set_fault(Fault::CloseConnection, Some(1));
    client.create_session(&routed()).await.unwrap_err();

    let id = client.create_session(&routed()).await;

    assert!(id.is_ok(), "{id:?}");
    assert_eq!(mock.sessions_created(), 1);
    mock.stop().await;
}

#[actix_web::test]
async fn a_refused_connection_is_unreachable() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);

    let err = client(&url).create_session(&routed()).await.unwrap_err();

    assert!(matches!(err, OpenTokError::Unreachable { .. }), "{err:?}");
    assert_secret_free(&err);
}

#[actix_web::test]
async fn https_urls_are_spoken_to_in_tls() {
    // A bare socket that records the first bytes it receives, then hangs up.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let first_bytes = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&first_bytes);
    let server = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut buf = [0u8; 3];
        socket.read_exact(&mut buf).unwrap();
        seen.lock().unwrap().extend_from_slice(&buf);
    });

    let err = client(&url).create_session(&routed()).await.unwrap_err();

    server.join().unwrap();
    // 0x16 0x03 0x0N: a TLS handshake record, i.e. a ClientHello rather than plain HTTP.
    let bytes = first_bytes.lock().unwrap().clone();
    assert_eq!(bytes[..2], [0x16, 0x03], "{bytes:?}");
    assert!(matches!(err, OpenTokError::Unreachable { .. }), "{err:?}");
}

#[actix_web::test]
async fn tokens_for_a_created_session_verify_in_both_formats() {
    let mock = mock().await;
    let id = client(mock.url()).create_session(&routed()).await.unwrap();
    let now = unix_now();
    let options = TokenOptions::new(
        TokenParams {
            data: "name=Zoë & Co".to_owned(),
            ..TokenParams::default()
        },
        now,
    )
    .unwrap();

    let t1_token = client(mock.url()).mint_token(&id, &options, now).unwrap();
    let decoded = t1::decode(&t1_token).unwrap();
    assert!(decoded.verify(&SecretString::from(SECRET)));
    assert_eq!(decoded.field("session_id"), Some(id.as_str()));
    assert_eq!(decoded.field("connection_data"), Some("name=Zoë & Co"));

    let jwt_client = HttpOpenTokClient::new(ClientConfig {
        token_format: TokenFormat::Jwt,
        ..ClientConfig::new(Credentials::new(
            ApiKey::parse(KEY).unwrap(),
            SecretString::from(SECRET),
        ))
    });
    let jwt = jwt_client.mint_token(&id, &options, now).unwrap();
    let claims = verified_claims(&jwt);
    assert_eq!(claims["session_id"], id.as_str());
    assert_eq!(claims["connection_data"], "name=Zoë & Co");
    mock.stop().await;
}

#[actix_web::test]
async fn mint_token_refuses_another_keys_session() {
    let foreign =
        SessionId::parse("1_MX42NTQzMjF-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4")
            .unwrap();
    let now = unix_now();
    let options = TokenOptions::new(TokenParams::default(), now).unwrap();

    let err = client("http://127.0.0.1:9")
        .mint_token(&foreign, &options, now)
        .unwrap_err();

    assert!(
        matches!(err, OpenTokError::ForeignSession { .. }),
        "{err:?}"
    );
}

/// Reads one HTTP/1.1 request (head and Content-Length body) from `socket`.
fn read_request(socket: &mut std::net::TcpStream) -> String {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = socket.read(&mut buf).unwrap();
        assert!(n > 0, "the client closed before a full request");
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data).into_owned();
        if let Some(head_end) = text.find("\r\n\r\n") {
            let length = text[..head_end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if data.len() >= head_end + 4 + length {
                return text;
            }
        }
    }
}

#[actix_web::test]
async fn a_pooled_connection_the_server_closed_while_idle_does_not_fail_the_next_call() {
    use std::io::Write;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (closed_tx, closed_rx) = std::sync::mpsc::channel();
    // Answers one request per connection, keep-alive in the headers, then closes the connection
    // (after reading the whole request, so the close is a FIN and not a reset).
    let server = std::thread::spawn(move || {
        let body = r#"[{"session_id":"1_MX4xMjM0NTZ-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4"}]"#;
        for _ in 0..2 {
            let (mut socket, _) = listener.accept().unwrap();
            read_request(&mut socket);
            write!(
                socket,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: keep-alive\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            socket.flush().unwrap();
            drop(socket);
            closed_tx.send(()).unwrap();
        }
    });
    let client = client(&url);

    client.create_session(&routed()).await.unwrap();
    closed_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    // Let the FIN reach the client's socket before its next call looks at the pooled connection.
    actix_rt::time::sleep(Duration::from_millis(50)).await;
    let second = client.create_session(&routed()).await;

    assert!(second.is_ok(), "{second:?}");
    closed_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    server.join().unwrap();
}
