//! A Vonage application's client against opentok-mock in Vonage mode over real HTTP on 127.0.0.1:
//! the Bearer application JWT, the answer, and every failure mapped like the OpenTok path.

use std::collections::HashSet;
use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use opentok_client::{
    ApplicationId, ClientConfig, Credentials, HttpOpenTokClient, OpenTokApi, OpenTokError,
    VonagePrivateKey,
};
use opentok_mock::{Fault, MockOpenTok, VonageMockConfig};
use serde_json::Value;
use tiny_opentok_domain::{ArchiveMode, MediaMode, SessionOptions, TokenOptions, TokenParams};

/// A fault and the check its error must pass.
type Case = (Fault, fn(&OpenTokError) -> bool);

const APP: &str = "29f760f8-7ce1-46c9-ade3-f2dedee4ed5f";

fn read(name: &str) -> String {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn mock() -> MockOpenTok {
    MockOpenTok::start_vonage(VonageMockConfig::new(
        APP,
        read("test-only-rsa2048.pub.pem"),
    ))
    .await
    .unwrap()
}

fn client_with(base_url: &str, key_file: &str, timeout: Duration) -> HttpOpenTokClient {
    let credentials = Credentials::vonage(
        ApplicationId::parse(APP).unwrap(),
        VonagePrivateKey::from_pem(&read(key_file)).unwrap(),
    );
    HttpOpenTokClient::new(ClientConfig {
        base_url: base_url.to_owned(),
        timeout,
        ..ClientConfig::new(credentials)
    })
}

fn client(base_url: &str) -> HttpOpenTokClient {
    client_with(base_url, "test-only-rsa2048.pem", Duration::from_secs(5))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn verified(token: &str) -> Value {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.required_spec_claims = HashSet::from(["exp".to_owned()]);
    let key = DecodingKey::from_rsa_pem(read("test-only-rsa2048.pub.pem").as_bytes()).unwrap();
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap()
        .claims
}

#[actix_web::test]
async fn creates_a_session_with_a_bearer_application_jwt() {
    let mock = mock().await;
    let client = client(mock.url());
    let location = SessionOptions::new(
        MediaMode::Routed,
        ArchiveMode::Always,
        Some(Ipv4Addr::new(12, 34, 56, 78)),
        false,
    )
    .unwrap();

    let id = client.create_session(&location).await.unwrap();

    assert!(id.belongs_to(client.api_key()));
    assert_eq!(client.api_key().as_str(), APP);
    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("POST", "/session/create")
    );
    assert_eq!(req.header("accept"), Some("application/json"));
    assert_eq!(req.header("x-opentok-auth"), None);
    let bearer = req.header("authorization").unwrap();
    let claims = verified(bearer.strip_prefix("Bearer ").unwrap());
    assert_eq!(claims["application_id"], APP);
    let iat = claims["iat"].as_u64().unwrap();
    assert!(iat.abs_diff(unix_now()) < 60);
    assert_eq!(claims["exp"].as_u64(), Some(iat + 300));
    assert_eq!(claims["jti"].as_str().unwrap().len(), 36);
    assert_eq!(
        String::from_utf8_lossy(&req.body),
        "p2p.preference=disabled&archiveMode=always&location=12.34.56.78"
    );

    // A second call signs a fresh JWT (its own jti).
    client
        .create_session(&SessionOptions::default())
        .await
        .unwrap();
    let second = mock.requests()[1]
        .header("authorization")
        .unwrap()
        .to_owned();
    assert_ne!(second, bearer);
    mock.stop().await;
}

#[actix_web::test]
async fn tokens_for_a_created_session_are_rs256_and_verify() {
    let mock = mock().await;
    let client = client(mock.url());
    let id = client
        .create_session(&SessionOptions::default())
        .await
        .unwrap();
    let now = unix_now();
    let options = TokenOptions::new(TokenParams::default(), now).unwrap();

    let token = client.mint_token(&id, &options, now).unwrap();

    let claims = verified(&token);
    assert_eq!(claims["session_id"], id.as_str());
    assert_eq!(claims["application_id"], APP);
    assert_eq!(claims["sub"], "video");
    mock.stop().await;
}

#[actix_web::test]
async fn a_wrong_key_is_refused_as_bad_credentials() {
    let mock = mock().await;
    let client = client_with(
        mock.url(),
        "test-only-rsa2048-other.pem",
        Duration::from_secs(5),
    );
    let err = client
        .create_session(&SessionOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, OpenTokError::AuthenticationRefused { status: 401 }),
        "{err:?}"
    );
    assert_eq!(mock.sessions_created(), 0);
    mock.stop().await;
}

#[actix_web::test]
async fn each_fault_maps_to_the_same_variant_as_for_opentok() {
    let mock = mock().await;
    let client = client_with(
        mock.url(),
        "test-only-rsa2048.pem",
        Duration::from_millis(500),
    );
    let cases: [Case; 6] = [
        (Fault::Status(403), |e| {
            matches!(e, OpenTokError::AuthenticationRefused { status: 403 })
        }),
        (Fault::Status(500), |e| {
            matches!(e, OpenTokError::Upstream { status: 500 })
        }),
        (Fault::Status(503), |e| {
            matches!(e, OpenTokError::Upstream { status: 503 })
        }),
        (Fault::Status(400), |e| {
            matches!(e, OpenTokError::InvalidRequest { status: 400, .. })
        }),
        (Fault::Garbage, |e| {
            matches!(e, OpenTokError::MalformedResponse { .. })
        }),
        (Fault::CloseConnection, |e| {
            matches!(e, OpenTokError::Unreachable { .. })
        }),
    ];
    for (fault, expected) in cases {
        mock.set_fault(fault.clone(), Some(1));
        let err = client
            .create_session(&SessionOptions::default())
            .await
            .unwrap_err();
        assert!(expected(&err), "{fault:?}: {err:?}");
    }
    mock.set_fault(Fault::Hang, Some(1));
    let err = client
        .create_session(&SessionOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, OpenTokError::Timeout { timeout_ms: 500 }),
        "{err:?}"
    );
    mock.stop().await;
}

#[actix_web::test]
async fn an_unreachable_service_is_unreachable() {
    // A port that was just free: nothing listens on it.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = client(&format!("http://127.0.0.1:{port}"));
    let err = client
        .create_session(&SessionOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, OpenTokError::Unreachable { .. }), "{err:?}");
}
