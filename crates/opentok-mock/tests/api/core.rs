//! The core contract: start, create a session, record, inject a fault, stop.

use opentok_mock::{Fault, MockConfig, MockOpenTok};
use tiny_opentok_domain::SessionId;

use crate::helpers::*;

#[actix_web::test]
async fn creates_a_session_whose_id_encodes_the_key() {
    let mock = start().await;
    assert!(
        mock.url().starts_with("http://127.0.0.1:"),
        "{}",
        mock.url()
    );
    assert!(!mock.url().ends_with('/'));

    let answer = create(&mock, Some(&good_jwt()), ROUTED).await;

    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.content_type(), "application/json");
    let json = answer.json();
    assert_eq!(json.as_array().map(Vec::len), Some(1));
    assert_eq!(json[0]["project_id"], KEY);
    assert_eq!(json[0]["partner_id"], KEY);
    let id = SessionId::parse(&answer.session_id()).expect("a real-format id");
    assert_eq!(id.record().api_key(), Some(KEY));
    assert_eq!(id.record().location(), None);
    assert_eq!(mock.sessions_created(), 1);
    mock.stop().await;
}

#[actix_web::test]
async fn refuses_a_request_without_credentials() {
    let mock = start().await;

    let answer = create(&mock, None, ROUTED).await;

    assert_eq!(answer.status, 403);
    assert_eq!(
        answer.text(),
        r#"{"code":-1,"message":"No suitable authentication found"}"#
    );
    assert_eq!(answer.content_type(), "application/json");
    assert_eq!(answer.auth_failure(), "missing_header");
    assert_eq!(mock.sessions_created(), 0);
    mock.stop().await;
}

#[actix_web::test]
async fn records_every_request_including_rejected_ones() {
    let mock = start().await;
    let jwt = good_jwt();

    create(&mock, None, RELAYED).await;
    create(&mock, Some(&jwt), ROUTED).await;

    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/session/create");
    assert_eq!(requests[0].body, RELAYED.as_bytes());
    assert_eq!(requests[0].header("x-opentok-auth"), None);
    assert_eq!(requests[1].header("X-OPENTOK-AUTH"), Some(jwt.as_str()));
    assert_eq!(requests[1].header("accept"), Some("application/json"));
    assert!(requests[1]
        .headers
        .iter()
        .all(|(name, _)| *name == name.to_ascii_lowercase()));
    assert_eq!(
        requests[1].form(),
        [
            ("p2p.preference".to_owned(), "disabled".to_owned()),
            ("archiveMode".to_owned(), "manual".to_owned()),
            ("e2ee".to_owned(), "false".to_owned()),
        ]
    );
    mock.clear_requests();
    assert!(mock.requests().is_empty());
    mock.stop().await;
}

#[actix_web::test]
async fn a_fault_applies_until_cleared() {
    let mock = start().await;
    let jwt = good_jwt();

    mock.set_fault(Fault::Status(500), None);
    let first = create(&mock, Some(&jwt), ROUTED).await;
    let second = create(&mock, Some(&jwt), ROUTED).await;
    mock.clear_fault();
    let third = create(&mock, Some(&jwt), ROUTED).await;

    assert_eq!(first.status, 500);
    assert_eq!(
        first.json(),
        serde_json::json!({"code": 500, "message": "Internal Server Error"})
    );
    assert_eq!(second.status, 500);
    assert_eq!(third.status, 200);
    assert_eq!(mock.requests().len(), 3);
    mock.stop().await;
}

#[actix_web::test]
async fn refuses_to_start_with_an_invalid_key_or_an_empty_secret() {
    let bad_key = MockOpenTok::start(MockConfig::new("12 34", SECRET)).await;
    let no_secret = MockOpenTok::start(MockConfig::new(KEY, "")).await;

    assert_eq!(
        bad_key.expect_err("bad key").kind(),
        std::io::ErrorKind::InvalidInput
    );
    assert_eq!(
        no_secret.expect_err("empty secret").kind(),
        std::io::ErrorKind::InvalidInput
    );
}

#[actix_web::test]
async fn stops_and_frees_its_port() {
    let mock = start().await;
    let url = mock.url().to_owned();

    mock.stop().await;

    let after = client().post(format!("{url}/session/create")).send().await;
    assert!(after.is_err(), "still answering after stop: {after:?}");
}

#[actix_web::test]
async fn binds_the_address_it_is_given() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let mut config = MockConfig::new(KEY, SECRET);
    config.addr = addr;

    let mock = MockOpenTok::start(config).await.expect("binds");

    assert_eq!(mock.url(), format!("http://{addr}"));
    mock.stop().await;
}
