//! Shared test helpers: a started mock, JWT minting and a request builder.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::http::StatusCode;
use awc::http::header::HeaderMap;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use opentok_mock::{MockConfig, MockOpenTok};
use serde_json::{json, Map, Value};

pub const KEY: &str = "123456";
pub const SECRET: &str = "1234567890abcdef1234567890abcdef1234567890";

pub async fn start() -> MockOpenTok {
    MockOpenTok::start(MockConfig::new(KEY, SECRET))
        .await
        .expect("mock starts")
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// The claims the Python SDK sends, issued now.
pub fn good_claims() -> Map<String, Value> {
    let now = now();
    let v = json!({
        "ist": "project",
        "iat": now,
        "exp": now + 180,
        "iss": KEY,
        "jti": "0.123456789",
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

pub fn sign(claims: &Map<String, Value>) -> String {
    sign_with(Algorithm::HS256, SECRET, claims)
}

pub fn sign_with(alg: Algorithm, secret: &str, claims: &Map<String, Value>) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("signing works")
}

pub fn good_jwt() -> String {
    sign(&good_claims())
}

pub const ROUTED: &str = "p2p.preference=disabled&archiveMode=manual&e2ee=false";
pub const RELAYED: &str = "p2p.preference=enabled&archiveMode=manual&e2ee=false";

/// What came back from one request.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn auth_failure(&self) -> &str {
        self.headers
            .get(opentok_mock::AUTH_FAILURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn session_id(&self) -> String {
        self.json()[0]["session_id"]
            .as_str()
            .expect("session_id is a string")
            .to_owned()
    }
}

/// POST /session/create the way the Python SDK does, with `jwt` in X-OPENTOK-AUTH when given.
pub async fn create(mock: &MockOpenTok, jwt: Option<&str>, body: &str) -> Answer {
    let mut req = client()
        .post(format!("{}/session/create", mock.url()))
        .insert_header(("Accept", "application/json"))
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"));
    if let Some(jwt) = jwt {
        req = req.insert_header(("X-OPENTOK-AUTH", jwt));
    }
    send(req, body).await
}

pub async fn send(req: awc::ClientRequest, body: &str) -> Answer {
    let mut res = req
        .send_body(body.to_owned())
        .await
        .expect("the mock answers");
    let body = res.body().await.expect("a readable body").to_vec();
    Answer {
        status: res.status(),
        headers: res.headers().clone(),
        body,
    }
}

pub fn client() -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish()
}
