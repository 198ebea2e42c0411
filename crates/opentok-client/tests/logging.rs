//! What the client logs, in a test binary of its own: tracing's per-thread subscriber shares
//! global callsite state, so another test running beside it could make events go missing.

use std::net::{Ipv4Addr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentok_client::{ClientConfig, Credentials, HttpOpenTokClient, OpenTokApi};
use opentok_mock::{Fault, MockConfig, MockOpenTok};
use secrecy::SecretString;
use tiny_opentok_domain::{ApiKey, SessionOptions, TokenOptions, TokenParams};

const KEY: &str = "123456";
const SECRET: &str = "1234567890abcdef1234567890abcdef1234567890";

fn client(base_url: &str) -> HttpOpenTokClient {
    let credentials = Credentials::new(ApiKey::parse(KEY).unwrap(), SecretString::from(SECRET));
    HttpOpenTokClient::new(ClientConfig {
        base_url: base_url.to_owned(),
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(3),
        ..ClientConfig::new(credentials)
    })
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

/// A log sink for one test: `tracing` writes formatted lines here.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[actix_web::test]
async fn logs_carry_neither_the_secret_nor_any_token() {
    let logs = CapturedLogs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .with_writer(logs.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let mock = MockOpenTok::start(MockConfig::new(KEY, SECRET))
        .await
        .unwrap();
    let http = client(mock.url());
    let refused = {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };

    let id = http.create_session(&routed()).await.unwrap();
    mock.set_fault(Fault::Status(500), Some(1));
    http.create_session(&routed()).await.unwrap_err();
    client(&refused)
        .create_session(&routed())
        .await
        .unwrap_err();
    let now = unix_now();
    let options = TokenOptions::new(TokenParams::default(), now).unwrap();
    let token = http.mint_token(&id, &options, now).unwrap();

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    // The capture works: the REST span, the retry warning and the session id are there.
    assert!(text.contains("opentok.create_session"), "{text}");
    assert!(text.contains("retrying once"), "{text}");
    assert!(text.contains(id.as_str()), "{text}");
    assert!(!text.contains(SECRET));
    assert!(!text.contains(&token));
    for request in mock.requests() {
        let jwt = request.header("x-opentok-auth").unwrap();
        assert!(!text.contains(jwt));
    }
    mock.stop().await;
}
