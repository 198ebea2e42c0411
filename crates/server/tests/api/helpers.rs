use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use opentok_mock::{MockConfig, MockOpenTok, VonageMockConfig};
use serde_json::Value;
use tiny_opentok_domain::SessionId;
use tiny_opentok_server::configuration::Settings;
use tiny_opentok_server::{AppDeps, Application, Now};
use tiny_opentok_storage::{MemoryStore, MemoryStoreConfig, SessionStore};

pub const KEY: &str = "123456";
pub const SECRET: &str = "1234567890abcdef1234567890abcdef1234567890";

pub struct TestApp {
    pub address: String,
    pub mock: MockOpenTok,
    pub http: awc::Client,
    pub store: Arc<dyn SessionStore>,
    handle: ServerHandle,
}

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

/// Starts a mock OpenTok and the app wired to it; `tweak` adjusts the settings first.
pub async fn spawn_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_custom(tweak, None).await
}

/// Like [`spawn_with`], with the given store instead of a fresh `MemoryStore`.
pub async fn spawn_custom(
    tweak: impl FnOnce(&mut Settings),
    store: Option<Arc<dyn SessionStore>>,
) -> TestApp {
    spawn_full(tweak, store, None).await
}

/// The app with its clock pinned at `now` (unix seconds).
pub async fn spawn_at(now: u64) -> TestApp {
    spawn_full(|_| {}, None, Some(Arc::new(move || now))).await
}

async fn spawn_full(
    tweak: impl FnOnce(&mut Settings),
    store: Option<Arc<dyn SessionStore>>,
    now: Option<Now>,
) -> TestApp {
    let mock = MockOpenTok::start(MockConfig {
        addr: ([127, 0, 0, 1], 0).into(),
        api_key: KEY.to_owned(),
        api_secret: SECRET.to_owned(),
        latency: Duration::ZERO,
    })
    .await
    .expect("mock starts");
    let settings = test_settings(mock.url());
    spawn_against(mock, settings, tweak, store, now).await
}

/// The Vonage application of the Vonage tests (the id the SDK vectors use).
pub const APP_ID: &str = "29f760f8-7ce1-46c9-ade3-f2dedee4ed5f";

/// A test-only key of opentok-mock's test data, e.g. `test-only-rsa2048.pem`.
pub fn test_key(name: &str) -> String {
    let path = format!(
        "{}/../opentok-mock/tests/data/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Settings with the Vonage application's credentials (the key inline) and no OpenTok ones.
pub fn vonage_settings(api_url: &str) -> Settings {
    let mut s = test_settings("http://unused.invalid");
    s.opentok.key = None;
    s.opentok.secret = None;
    s.vonage.application_id = Some(APP_ID.to_owned());
    s.vonage.private_key = Some(test_key("test-only-rsa2048.pem").into());
    s.vonage.api_url = Some(api_url.to_owned());
    s
}

/// A mock in Vonage mode for [`APP_ID`] and the app wired to it with Vonage credentials; `now`
/// pins the app's clock.
pub async fn spawn_vonage(tweak: impl FnOnce(&mut Settings), now: Option<u64>) -> TestApp {
    let mock = MockOpenTok::start_vonage(VonageMockConfig::new(
        APP_ID,
        test_key("test-only-rsa2048.pub.pem"),
    ))
    .await
    .expect("Vonage mock starts");
    let settings = vonage_settings(mock.url());
    let now = now.map(|n| -> Now { Arc::new(move || n) });
    spawn_against(mock, settings, tweak, None, now).await
}

async fn spawn_against(
    mock: MockOpenTok,
    mut settings: Settings,
    tweak: impl FnOnce(&mut Settings),
    store: Option<Arc<dyn SessionStore>>,
    now: Option<Now>,
) -> TestApp {
    tweak(&mut settings);
    let mut deps = AppDeps::from_settings(&settings)
        .await
        .expect("valid test settings");
    let store: Arc<dyn SessionStore> = store.unwrap_or_else(|| {
        Arc::new(MemoryStore::with_config(MemoryStoreConfig {
            capacity: settings.storage.capacity,
            idle_ttl: None,
        }))
    });
    deps.store = Arc::clone(&store);
    if let Some(now) = now {
        deps.now = now;
    }
    let app = Application::build(&settings, deps).expect("app binds");
    let address = format!("http://{}", app.address());
    let handle = app.handle();
    actix_web::rt::spawn(app.run());
    TestApp {
        address,
        mock,
        http: awc::Client::builder()
            .timeout(Duration::from_secs(30))
            .finish(),
        store,
        handle,
    }
}

impl TestApp {
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<Vec<u8>>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.post(format!("{}{path}", self.address));
        if let Some(ct) = content_type {
            req = req.insert_header(("Content-Type", ct));
        }
        let mut res = req.send_body(body.into()).await.expect("request sent");
        let status = res.status();
        let ct = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = res.body().limit(1 << 20).await.expect("body read");
        assert_eq!(
            ct.as_deref(),
            Some("application/json"),
            "every response is JSON ({status}): {:?}",
            String::from_utf8_lossy(&bytes)
        );
        (status, serde_json::from_slice(&bytes).expect("JSON body"))
    }

    pub async fn post_json(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.post_raw(path, Some("application/json"), body.to_string())
            .await
    }

    pub async fn post_form(&self, path: &str, body: &str) -> (StatusCode, Value) {
        self.post_raw(path, Some("application/x-www-form-urlencoded"), body)
            .await
    }

    pub async fn post_empty(&self, path: &str) -> (StatusCode, Value) {
        self.post_raw(path, None, "").await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let mut res = self
            .http
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request sent");
        let status = res.status();
        (status, res.json().await.expect("JSON body"))
    }

    /// Creates a session with default options and returns its id.
    pub async fn create_session(&self) -> String {
        let (status, body) = self.post_empty("/session").await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().expect("id").to_owned()
    }

    pub async fn stored(&self) -> usize {
        self.store.count().await.expect("count")
    }

    pub async fn stop(self) {
        self.handle.stop(true).await;
        self.mock.stop().await;
    }
}

/// Asserts an error answer: status, code, and that the message mentions `needle`.
pub fn assert_error(actual: (StatusCode, Value), status: StatusCode, code: &str, needle: &str) {
    let (s, body) = actual;
    assert_eq!(s, status, "{body}");
    assert_eq!(body["error"], code, "{body}");
    let message = body["message"].as_str().expect("message is a string");
    assert!(
        message.contains(needle),
        "{message:?} should mention {needle:?}"
    );
    assert_eq!(
        body.as_object().unwrap().len(),
        2,
        "only error and message: {body}"
    );
}

/// A T1 token's signed fields, after checking its signature with the secret.
pub fn verify_t1(token: &str) -> Vec<(String, String)> {
    let raw = token.strip_prefix("T1==").expect("T1 marker");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .expect("standard base64");
    let text = String::from_utf8(decoded).expect("UTF-8");
    let (head, data) = text.split_once(':').expect("signature separator");
    let sig = head
        .strip_prefix(&format!("partner_id={KEY}&sig="))
        .expect("partner id and sig");
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    assert_eq!(sig, hex::encode(mac.finalize().into_bytes()), "signature");
    data.split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').expect("key=value");
            (k.to_owned(), percent_decode(v))
        })
        .collect()
}

pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn percent_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).expect("hex escape"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("UTF-8 value")
}

pub fn session_id(id: &str) -> SessionId {
    SessionId::parse(id).expect("valid id")
}

/// The real binary, configured by environment for `mock` plus `extra` variables, with stdout read up
/// to its `listening on` line and stderr piped. Returns the child (the caller stops it) and its URL.
pub fn spawn_binary(mock: &MockOpenTok, extra: &[(&str, &str)]) -> (std::process::Child, String) {
    let opentok = [
        ("OPENTOK_KEY", KEY),
        ("OPENTOK_SECRET", SECRET),
        ("OPENTOK_API_URL", mock.url()),
    ];
    spawn_binary_env(&[&opentok[..], extra].concat(), &[])
}

/// The real binary on 127.0.0.1:0 with only `env` (credentials included) in its environment.
pub fn spawn_binary_env(env: &[(&str, &str)], args: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tiny-opentok-server"))
        .args(args)
        .env_clear()
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("server starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("listening line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect("a `listening on URL` line")
        .to_owned();
    (child, url)
}

/// Sends SIGTERM to a child this test started.
pub fn sigterm(child: &std::process::Child) {
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "SIGTERM delivered");
}

/// Settings for tests: port 0 on 127.0.0.1, the mock's URL and credentials, a short timeout.
pub fn test_settings(api_url: &str) -> Settings {
    let mut s = Settings::default();
    s.http.host = "127.0.0.1".to_owned();
    s.http.port = 0;
    s.http.workers = Some(2);
    s.http.shutdown_timeout_secs = 1;
    s.opentok.key = Some(tiny_opentok_domain::ApiKey::parse(KEY).expect("a valid test API key"));
    s.opentok.secret = Some(secrecy::SecretString::from(SECRET.to_owned()));
    s.opentok.api_url = api_url.to_owned();
    s.opentok.timeout = Duration::from_secs(1);
    s
}
