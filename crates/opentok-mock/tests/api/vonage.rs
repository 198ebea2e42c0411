//! Vonage mode: Bearer application JWTs verified with the application's RSA public key.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use opentok_mock::{MockOpenTok, VonageMockConfig};
use serde_json::{json, Map, Value};
use tiny_opentok_domain::{ApiKey, SessionId};

use crate::helpers::*;

const APP: &str = "29f760f8-7ce1-46c9-ade3-f2dedee4ed5f";
const PRIVATE: &str = include_str!("../data/test-only-rsa2048.pem");
const PUBLIC: &str = include_str!("../data/test-only-rsa2048.pub.pem");
const OTHER: &str = include_str!("../data/test-only-rsa2048-other.pem");
const PKCS1: &str = include_str!("../data/test-only-rsa2048-pkcs1.pem");

async fn start_vonage(key_pem: &str) -> MockOpenTok {
    MockOpenTok::start_vonage(VonageMockConfig::new(APP, key_pem))
        .await
        .expect("mock starts")
}

fn claims() -> Map<String, Value> {
    let now = now();
    match json!({ "application_id": APP, "iat": now, "exp": now + 300, "jti": "a-jti" }) {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

fn sign_rs256(private_pem: &str, claims: &Map<String, Value>) -> String {
    let key = EncodingKey::from_rsa_pem(private_pem.as_bytes()).expect("a test key");
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key).expect("signing works")
}

async fn create_bearer(mock: &MockOpenTok, token: &str, body: &str) -> Answer {
    let req = client()
        .post(format!("{}/session/create", mock.url()))
        .insert_header(("Accept", "application/json"))
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .insert_header(("Authorization", format!("Bearer {token}")));
    send(req, body).await
}

#[actix_web::test]
async fn creates_a_session_carrying_the_application_id() {
    let mock = start_vonage(PUBLIC).await;
    let answer = create_bearer(&mock, &sign_rs256(PRIVATE, &claims()), ROUTED).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let created = &answer.json()[0];
    let id = SessionId::parse(created["session_id"].as_str().unwrap()).unwrap();
    assert!(id.belongs_to(&ApiKey::parse(APP).unwrap()));
    assert_eq!(
        id.record().fields().len(),
        8,
        "the Vonage layout ends in ~~~"
    );
    assert_eq!(created["application_id"], APP);
    assert_eq!(created["project_id"], APP);
    assert_eq!(created["media_server_url"], "");
    assert!(created["create_dt"].as_str().unwrap().contains(" GMT "));
    assert_eq!(mock.sessions_created(), 1);
    mock.stop().await;
}

#[actix_web::test]
async fn derives_the_public_key_from_a_private_key_in_either_format() {
    for (key, signer) in [(PRIVATE, PRIVATE), (PKCS1, PKCS1)] {
        let mock = start_vonage(key).await;
        let answer = create_bearer(&mock, &sign_rs256(signer, &claims()), ROUTED).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        mock.stop().await;
    }
}

#[actix_web::test]
async fn accepts_the_null_location_of_the_vonage_node_sdk() {
    let mock = start_vonage(PUBLIC).await;
    let body = "archiveMode=manual&p2p.preference=disabled&location=null";
    let answer = create_bearer(&mock, &sign_rs256(PRIVATE, &claims()), body).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    mock.stop().await;
}

#[actix_web::test]
async fn refuses_bad_application_jwts_with_401_and_a_json_body() {
    let mock = start_vonage(PUBLIC).await;
    let mut wrong_app = claims();
    wrong_app.insert(
        "application_id".into(),
        json!("00000000-0000-4000-8000-000000000000"),
    );
    let mut no_jti = claims();
    no_jti.remove("jti");
    let mut expired = claims();
    expired.insert("iat".into(), json!(now() - 1000));
    expired.insert("exp".into(), json!(now() - 700));
    let hs256 = sign_with(Algorithm::HS256, "secret", &claims());
    let cases = [
        ("wrong key", sign_rs256(OTHER, &claims()), "bad_signature"),
        (
            "wrong application",
            sign_rs256(PRIVATE, &wrong_app),
            "wrong_application_id",
        ),
        ("no jti", sign_rs256(PRIVATE, &no_jti), "missing_jti"),
        ("expired", sign_rs256(PRIVATE, &expired), "expired"),
        ("HS256", hs256, "unsupported_algorithm"),
        ("junk", "a.b.c".to_owned(), "malformed_token"),
    ];
    for (what, token, reason) in cases {
        let answer = create_bearer(&mock, &token, ROUTED).await;
        assert_eq!(answer.status, 401, "{what}");
        assert_eq!(answer.auth_failure(), reason, "{what}");
        assert_eq!(answer.json()["code"], 401, "{what}");
    }
    // OpenTok credentials are not what an application holds.
    let opentok = create(&mock, Some(&good_jwt()), ROUTED).await;
    assert_eq!(
        (opentok.status.as_u16(), opentok.auth_failure()),
        (401, "opentok_auth_not_supported")
    );
    assert_eq!(mock.sessions_created(), 0);
    mock.stop().await;
}

#[actix_web::test]
async fn refuses_to_start_without_a_uuid_or_a_usable_key() {
    for (id, pem) in [("123456", PUBLIC), (APP, "not a key"), (APP, "")] {
        let err = MockOpenTok::start_vonage(VonageMockConfig::new(id, pem))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{id} {err}");
    }
    let mut broken = PRIVATE.lines().collect::<Vec<_>>();
    broken.truncate(5);
    let broken = broken.join("\n");
    let err = MockOpenTok::start_vonage(VonageMockConfig::new(APP, broken.as_str()))
        .await
        .unwrap_err();
    assert!(
        !err.to_string().contains(PRIVATE.lines().nth(2).unwrap()),
        "{err}"
    );
}
