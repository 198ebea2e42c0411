use std::future::Future;
use std::io;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use awc::error::{ConnectError, PayloadError, SendRequestError};
use awc::http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use serde::Deserialize;
use tiny_opentok_domain::{
    ApiKey, ArchiveMode, MediaMode, SessionId, SessionOptions, TokenOptions,
};

use crate::{jwt, Credentials, OpenTokApi, OpenTokError, TokenFormat, TokenSigner};

/// OpenTok's production REST endpoint.
pub const DEFAULT_API_URL: &str = "https://api.opentok.com";

/// The Vonage Video API's production REST endpoint, for application credentials.
pub const DEFAULT_VONAGE_API_URL: &str = "https://video.api.vonage.com";

/// The `User-Agent` of every REST call.
const USER_AGENT_VALUE: &str = concat!("opentok-client/", env!("CARGO_PKG_VERSION"));

/// The header that carries the REST auth JWT for OpenTok (not Vonage) credentials.
const AUTH_HEADER: &str = "X-OPENTOK-AUTH";

/// A create answer is one small JSON object; anything much larger is not OpenTok's.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Upstream error messages passed on to callers are cut to this many characters.
const MAX_MESSAGE_CHARS: usize = 300;

/// How to reach OpenTok and which tokens to mint.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Key and secret, or Vonage application id and private key.
    pub credentials: Credentials,
    /// REST base URL, without a trailing slash ([`DEFAULT_API_URL`] or [`DEFAULT_VONAGE_API_URL`]
    /// in production).
    pub base_url: String,
    /// Limit on one REST call, connect to last byte.
    pub timeout: Duration,
    /// Limit on opening a connection (DNS, TCP and TLS), within `timeout`: a host that does not
    /// answer fails fast as unreachable instead of using up the whole call's budget.
    pub connect_timeout: Duration,
    /// T1 or JWT client tokens for OpenTok credentials; RS256 for Vonage ones.
    pub token_format: TokenFormat,
}

impl ClientConfig {
    /// The production URL and token format for the kind of credentials
    /// ([`TokenFormat::default_for`]: T1, or RS256 for Vonage), 10 s timeout (3 s to connect).
    pub fn new(credentials: Credentials) -> Self {
        let base_url = if credentials.is_vonage() {
            DEFAULT_VONAGE_API_URL
        } else {
            DEFAULT_API_URL
        };
        Self {
            token_format: TokenFormat::default_for(&credentials),
            credentials,
            base_url: base_url.to_owned(),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
        }
    }

    /// Checks that the token format fits the credentials (T1 or JWT with an OpenTok secret, RS256
    /// with a Vonage key), so a server can refuse a bad configuration at startup rather than on
    /// the first token request.
    ///
    /// # Errors
    /// [`OpenTokError::UnsupportedTokenFormat`].
    pub fn validate(&self) -> Result<(), OpenTokError> {
        if self.token_format.fits(&self.credentials) {
            Ok(())
        } else {
            Err(OpenTokError::UnsupportedTokenFormat {
                format: self.token_format.as_str(),
                credentials: if self.credentials.is_vonage() {
                    "Vonage application"
                } else {
                    "OpenTok"
                },
            })
        }
    }
}

/// The real client: awc for REST (one pooled keep-alive client, built once), local signing for tokens.
///
/// An `awc::Client` belongs to the thread that built it, so build one `HttpOpenTokClient` per
/// worker (the server does so in its `HttpServer::new` closure) and reuse it.
pub struct HttpOpenTokClient {
    config: ClientConfig,
    signer: TokenSigner,
    http: awc::Client,
    create_url: String,
}

impl HttpOpenTokClient {
    /// Builds the client; call it once per worker thread and reuse it.
    ///
    /// Does no I/O. `create_session` needs an actix (tokio) runtime on the thread that built it.
    pub fn new(config: ClientConfig) -> Self {
        let signer = TokenSigner::new(&config.credentials);
        let connector = awc::Connector::new()
            .rustls_0_23(tls_config())
            .timeout(config.connect_timeout.min(config.timeout));
        let http = awc::Client::builder()
            .connector(connector)
            .timeout(config.timeout)
            // A redirect would carry the auth JWT to another host and turn the POST into a GET.
            .disable_redirects()
            .add_default_header((USER_AGENT, USER_AGENT_VALUE))
            .finish();
        let create_url = format!("{}/session/create", config.base_url.trim_end_matches('/'));
        Self {
            config,
            signer,
            http,
            create_url,
        }
    }

    /// The signer behind [`OpenTokApi::mint_token`], for callers that pin the nonce or need the
    /// REST auth JWT.
    pub fn signer(&self) -> &TokenSigner {
        &self.signer
    }

    #[tracing::instrument(
        name = "opentok.create_session",
        skip_all,
        fields(
            media_mode = %options.media_mode(),
            archive_mode = %options.archive_mode(),
            status = tracing::field::Empty,
        )
    )]
    async fn create_session_over_http(
        &self,
        options: &SessionOptions,
    ) -> Result<SessionId, OpenTokError> {
        let form = session_form(options);
        // One deadline covers connecting, sending, the answer's head and its body (awc's own timeout
        // stops at the head).
        let call = async {
            let mut response = send_retrying_if_unsent(|| self.post_create(&form))
                .await
                .map_err(|e| self.map_send_error(e))?;
            let status = response.status().as_u16();
            tracing::Span::current().record("status", status);
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = response
                .body()
                .limit(MAX_BODY_BYTES)
                .await
                .map_err(map_payload_error)?;
            interpret_create_answer(status, content_type.as_deref(), &body, self.api_key())
        };
        let outcome = match actix_rt::time::timeout(self.config.timeout, call).await {
            Ok(outcome) => outcome,
            Err(_elapsed) => Err(self.timeout_error()),
        };
        match &outcome {
            Ok(id) => tracing::debug!(session_id = %id, "OpenTok created a session"),
            Err(e) => tracing::debug!(error = %e, "OpenTok session create failed"),
        }
        outcome
    }

    /// One attempt, with a fresh auth JWT (each carries its own `jti`): `X-OPENTOK-AUTH` for an
    /// OpenTok project, `Authorization: Bearer` for a Vonage application.
    fn post_create(&self, form: &str) -> awc::SendClientRequest {
        let request = self.http.post(&self.create_url);
        let request = if self.config.credentials.is_vonage() {
            match self
                .signer
                .rest_auth_jwt(unix_now(), &jwt::random_uuid_v4())
            {
                Ok(jwt) => request.insert_header((AUTHORIZATION, format!("Bearer {jwt}"))),
                // Carried through awc's error type to map_send_error, which hands it back as is.
                Err(e) => return SendRequestError::Custom(Box::new(e), Box::new("signing")).into(),
            }
        } else {
            match self.signer.rest_auth_jwt(unix_now(), &random_jti()) {
                Ok(jwt) => request.insert_header((AUTH_HEADER, jwt)),
                Err(e) => return SendRequestError::Custom(Box::new(e), Box::new("signing")).into(),
            }
        };
        request
            .insert_header((ACCEPT, "application/json"))
            .insert_header((CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .send_body(form.to_owned())
    }

    fn timeout_error(&self) -> OpenTokError {
        OpenTokError::Timeout {
            timeout_ms: u64::try_from(self.config.timeout.as_millis()).unwrap_or(u64::MAX),
        }
    }

    fn map_send_error(&self, err: SendRequestError) -> OpenTokError {
        use actix_http::error::ParseError;
        match err {
            SendRequestError::Timeout => self.timeout_error(),
            SendRequestError::Connect(ConnectError::Timeout) => OpenTokError::Unreachable {
                reason: format!(
                    "no connection within {} ms",
                    self.config
                        .connect_timeout
                        .min(self.config.timeout)
                        .as_millis()
                ),
            },
            SendRequestError::Response(ParseError::Io(e)) => OpenTokError::Unreachable {
                reason: format!("reading the answer failed: {e}"),
            },
            SendRequestError::Response(ParseError::Incomplete) => OpenTokError::Unreachable {
                reason: "the connection closed in the middle of the answer".to_owned(),
            },
            SendRequestError::Response(e) => OpenTokError::MalformedResponse {
                reason: format!("not an HTTP answer: {e}"),
            },
            SendRequestError::Connect(ConnectError::Disconnected) => OpenTokError::Unreachable {
                reason: "the connection closed before an answer arrived".to_owned(),
            },
            SendRequestError::Custom(e, debug) => match e.downcast::<OpenTokError>() {
                Ok(ours) => *ours,
                Err(e) => OpenTokError::Unreachable {
                    reason: SendRequestError::Custom(e, debug).to_string(),
                },
            },
            other => OpenTokError::Unreachable {
                reason: other.to_string(),
            },
        }
    }
}

#[async_trait(?Send)]
impl OpenTokApi for HttpOpenTokClient {
    fn api_key(&self) -> &ApiKey {
        self.config.credentials.api_key()
    }

    async fn create_session(&self, options: &SessionOptions) -> Result<SessionId, OpenTokError> {
        self.create_session_over_http(options).await
    }

    fn mint_token(
        &self,
        session_id: &SessionId,
        options: &TokenOptions,
        now: u64,
    ) -> Result<String, OpenTokError> {
        self.signer
            .mint(self.config.token_format, session_id, options, now)
    }
}

/// rustls with the ring provider and Mozilla's roots (webpki-roots), built once per process and
/// shared by every worker's client. Naming the provider here means no process-wide default has to
/// be installed first. HTTP/1.1 only: one small request per call gains nothing from h2.
fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    Arc::clone(CONFIG.get_or_init(|| {
        let roots =
            rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            // ring's default provider supports both safe protocol versions; startup code.
            .expect("the ring provider supports TLS 1.2 and 1.3")
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }))
}

/// The create form. Field order does not matter to OpenTok; values need no escaping.
/// Media mode is inverted on the wire: `p2p.preference=disabled` means routed (protocol 2.1).
fn session_form(options: &SessionOptions) -> String {
    let p2p = match options.media_mode() {
        MediaMode::Routed => "disabled",
        MediaMode::Relayed => "enabled",
    };
    let archive = match options.archive_mode() {
        ArchiveMode::Manual => "manual",
        ArchiveMode::Always => "always",
    };
    let mut form = format!("p2p.preference={p2p}&archiveMode={archive}");
    if let Some(ip) = options.location() {
        form.push_str(&format!("&location={ip}"));
    }
    if options.e2ee() {
        form.push_str("&e2ee=true");
    }
    form
}

/// Runs `attempt`, and once more only when the first try failed before any byte of the request
/// could have reached the server (see [`failed_before_sending`]). Creating a session is not
/// idempotent: a retry after the request may have arrived could create a second session.
async fn send_retrying_if_unsent<T, F, Fut>(mut attempt: F) -> Result<T, SendRequestError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SendRequestError>>,
{
    match attempt().await {
        Err(err) if failed_before_sending(&err) => {
            tracing::warn!(error = %err, "OpenTok connection failed before sending; retrying once");
            attempt().await
        }
        outcome => outcome,
    }
}

/// True only for failures that prove the request never left:
/// - the TCP connection was refused, reset or aborted while it was being set up (awc reports
///   these as `Connect(Io)`; a failed TLS handshake is `InvalidData` and is not retried);
/// - writing the request failed because the far end had already closed the pooled keep-alive
///   connection (`Send` with a broken pipe or reset). The request is written in one go, and a
///   server that has closed its socket never reads what arrives after.
///
/// Timeouts, `Disconnected` (the connection closed after the request was written) and every
/// error while reading the answer may follow a request OpenTok received, so they are not retried.
fn failed_before_sending(err: &SendRequestError) -> bool {
    use io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionRefused, ConnectionReset};
    match err {
        SendRequestError::Connect(ConnectError::Io(e)) => {
            matches!(
                e.kind(),
                ConnectionRefused | ConnectionReset | ConnectionAborted
            )
        }
        SendRequestError::Send(e) => {
            matches!(e.kind(), BrokenPipe | ConnectionReset | ConnectionAborted)
        }
        _ => false,
    }
}

fn map_payload_error(err: PayloadError) -> OpenTokError {
    match err {
        PayloadError::Overflow => OpenTokError::MalformedResponse {
            reason: format!("the answer is larger than {MAX_BODY_BYTES} bytes"),
        },
        other => OpenTokError::Unreachable {
            reason: format!("reading the answer body failed: {other}"),
        },
    }
}

#[derive(Deserialize)]
struct CreatedSession {
    // Unknown fields are ignored and nulls allowed: OpenTok's answer has grown over the years.
    #[serde(default)]
    session_id: Option<String>,
}

#[derive(Deserialize)]
struct UpstreamError {
    #[serde(default)]
    message: Option<String>,
}

/// Turns OpenTok's answer to `POST /session/create` into a session id or an error (protocol 2.3, 2.4).
fn interpret_create_answer(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
    api_key: &ApiKey,
) -> Result<SessionId, OpenTokError> {
    let malformed = |reason: String| OpenTokError::MalformedResponse { reason };
    match status {
        200..=299 => {
            if let Some(ct) = content_type.filter(|ct| !is_json(ct)) {
                return Err(malformed(format!("expected JSON, got content type {ct:?}")));
            }
            let sessions: Vec<CreatedSession> = serde_json::from_slice(body)
                .map_err(|e| malformed(format!("the body is not a JSON array of sessions: {e}")))?;
            let raw = sessions
                .into_iter()
                .next()
                .ok_or_else(|| malformed("the array holds no session".to_owned()))?
                .session_id
                .ok_or_else(|| malformed("the session has no session_id".to_owned()))?;
            let id = SessionId::parse(&raw)
                .map_err(|e| malformed(format!("the session_id is unusable: {e}")))?;
            if !id.belongs_to(api_key) {
                return Err(malformed(format!(
                    "the session_id {id} was not issued for API key {api_key}"
                )));
            }
            Ok(id)
        }
        401 | 403 => Err(OpenTokError::AuthenticationRefused { status }),
        404 => Err(OpenTokError::NotFound),
        400..=499 => Err(OpenTokError::InvalidRequest {
            status,
            message: upstream_message(body).unwrap_or_else(|| "no message".to_owned()),
        }),
        _ => Err(OpenTokError::Upstream { status }),
    }
}

/// `application/json`, any parameters (`; charset=utf-8`) and case.
fn is_json(content_type: &str) -> bool {
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    media_type.eq_ignore_ascii_case("application/json")
}

/// OpenTok's `{"code":…,"message":"…"}` error body, when there is one.
fn upstream_message(body: &[u8]) -> Option<String> {
    let message = serde_json::from_slice::<UpstreamError>(body)
        .ok()?
        .message?;
    let message = message.trim();
    if message.is_empty() {
        return None;
    }
    Some(match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message.to_owned(),
    })
}

fn unix_now() -> u64 {
    // A clock before 1970 is a broken host; an auth JWT issued "at 0" is then refused upstream
    // with a clear 401/403 rather than a panic here.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// 128 random bits as hex: unique per REST call, as the `jti` claim should be.
fn random_jti() -> String {
    format!("{:032x}", rand::random::<u128>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::net::Ipv4Addr;

    const SID: &str = "1_MX4xMjM0NTZ-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4";

    fn key() -> ApiKey {
        ApiKey::parse("123456").unwrap()
    }

    fn io_err(kind: io::ErrorKind) -> io::Error {
        io::Error::from(kind)
    }

    fn options(
        media: MediaMode,
        archive: ArchiveMode,
        ip: Option<Ipv4Addr>,
        e2ee: bool,
    ) -> SessionOptions {
        SessionOptions::new(media, archive, ip, e2ee).unwrap()
    }

    #[test]
    fn form_inverts_media_mode_and_adds_location_and_e2ee_only_when_set() {
        use ArchiveMode::*;
        use MediaMode::*;
        assert_eq!(
            session_form(&options(Routed, Manual, None, false)),
            "p2p.preference=disabled&archiveMode=manual"
        );
        assert_eq!(
            session_form(&options(Relayed, Manual, None, false)),
            "p2p.preference=enabled&archiveMode=manual"
        );
        assert_eq!(
            session_form(&options(
                Routed,
                Always,
                Some(Ipv4Addr::new(12, 34, 56, 78)),
                false
            )),
            "p2p.preference=disabled&archiveMode=always&location=12.34.56.78"
        );
        assert_eq!(
            session_form(&options(Routed, Manual, None, true)),
            "p2p.preference=disabled&archiveMode=manual&e2ee=true"
        );
    }

    #[test]
    fn reads_the_first_session_id_of_every_json_fixture_shape() {
        let full = format!(
            r#"[{{"session_id":"{SID}","project_id":"123456","partner_id":"123456","create_dt":"Fri Nov 18 15:50:36 PST 2016","session_status":null,"properties":null,"ice_servers":null,"ice_credential_expiration":86100}}]"#
        );
        for content_type in [
            Some("application/json"),
            Some("application/json; charset=utf-8"),
            Some("Application/JSON;charset=UTF-8"),
            None,
        ] {
            let id = interpret_create_answer(200, content_type, full.as_bytes(), &key()).unwrap();
            assert_eq!(id.as_str(), SID);
        }
    }

    #[test]
    fn unusable_success_bodies_are_malformed_responses() {
        let cases: [(&str, Option<&str>); 8] = [
            ("", Some("application/json")),
            ("[]", Some("application/json")),
            ("{}", Some("application/json")),
            (r#"[{"session_id":null}]"#, Some("application/json")),
            (r#"[{"session_id":"SESSIONID"}]"#, Some("application/json")),
            ("<html>oops</html>", None),
            (&format!(r#"[{{"session_id":"{SID}"}}]"#), Some("text/xml")),
            (
                // A valid id, but for API key 654321.
                r#"[{"session_id":"1_MX42NTQzMjF-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4"}]"#,
                None,
            ),
        ];
        for (body, ct) in cases {
            let err = interpret_create_answer(200, ct, body.as_bytes(), &key()).unwrap_err();
            assert!(
                matches!(err, OpenTokError::MalformedResponse { .. }),
                "{body:?}: {err:?}"
            );
        }
    }

    #[test]
    fn error_statuses_map_to_their_variants() {
        let body = br#"{"code":-1,"message":"No suitable authentication found"}"#;
        for status in [401, 403] {
            let err = interpret_create_answer(status, None, body, &key()).unwrap_err();
            assert!(
                matches!(err, OpenTokError::AuthenticationRefused { status: s } if s == status)
            );
        }
        let err = interpret_create_answer(404, None, b"", &key()).unwrap_err();
        assert!(matches!(err, OpenTokError::NotFound));
        let err = interpret_create_answer(
            400,
            None,
            br#"{"code":400,"message":"bad location"}"#,
            &key(),
        )
        .unwrap_err();
        assert!(
            matches!(&err, OpenTokError::InvalidRequest { status: 400, message } if message == "bad location"),
            "{err:?}"
        );
        let err = interpret_create_answer(429, None, b"<html/>", &key()).unwrap_err();
        assert!(
            matches!(&err, OpenTokError::InvalidRequest { status: 429, message } if message == "no message"),
            "{err:?}"
        );
        for status in [500, 503] {
            let err = interpret_create_answer(status, Some("text/xml"), b"", &key()).unwrap_err();
            assert!(matches!(err, OpenTokError::Upstream { status: s } if s == status));
        }
    }

    #[test]
    fn long_upstream_messages_are_cut() {
        let body = format!(r#"{{"message":"{}"}}"#, "m".repeat(1000));
        let message = upstream_message(body.as_bytes()).unwrap();
        assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert_eq!(upstream_message(br#"{"message":"  "}"#), None);
    }

    #[test]
    fn only_failures_before_sending_are_safe_to_retry() {
        use io::ErrorKind::*;
        let safe = [
            SendRequestError::Connect(ConnectError::Io(io_err(ConnectionRefused))),
            SendRequestError::Connect(ConnectError::Io(io_err(ConnectionReset))),
            SendRequestError::Send(io_err(BrokenPipe)),
            SendRequestError::Send(io_err(ConnectionReset)),
        ];
        for err in &safe {
            assert!(failed_before_sending(err), "{err:?}");
        }
        let unsafe_ = [
            SendRequestError::Timeout,
            SendRequestError::Connect(ConnectError::Timeout),
            SendRequestError::Connect(ConnectError::Disconnected),
            SendRequestError::Connect(ConnectError::Io(io_err(InvalidData))),
            SendRequestError::Connect(ConnectError::Io(io_err(TimedOut))),
            SendRequestError::Send(io_err(TimedOut)),
            SendRequestError::Response(actix_http::error::ParseError::Incomplete),
            SendRequestError::Response(actix_http::error::ParseError::Io(io_err(ConnectionReset))),
        ];
        for err in &unsafe_ {
            assert!(!failed_before_sending(err), "{err:?}");
        }
    }

    #[actix_rt::test]
    async fn retries_once_after_a_refused_connection_and_then_gives_up() {
        let calls = Cell::new(0);
        let outcome: Result<(), _> = send_retrying_if_unsent(|| {
            calls.set(calls.get() + 1);
            async {
                Err(SendRequestError::Connect(ConnectError::Io(io_err(
                    io::ErrorKind::ConnectionRefused,
                ))))
            }
        })
        .await;
        assert!(outcome.is_err());
        assert_eq!(calls.get(), 2);
    }

    #[actix_rt::test]
    async fn a_retry_that_succeeds_returns_its_answer() {
        let calls = Cell::new(0);
        let outcome = send_retrying_if_unsent(|| {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                if n == 1 {
                    Err(SendRequestError::Send(io_err(io::ErrorKind::BrokenPipe)))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(outcome.unwrap(), 2);
    }

    #[actix_rt::test]
    async fn never_retries_after_a_timeout_or_a_closed_connection() {
        for make in [
            || SendRequestError::Timeout,
            || SendRequestError::Connect(ConnectError::Disconnected),
        ] {
            let calls = Cell::new(0);
            let outcome: Result<(), _> = send_retrying_if_unsent(|| {
                calls.set(calls.get() + 1);
                async move { Err(make()) }
            })
            .await;
            assert!(outcome.is_err());
            assert_eq!(calls.get(), 1);
        }
    }

    #[test]
    fn tls_config_is_built_once_and_speaks_http_1_1() {
        let config = tls_config();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
        assert!(
            Arc::ptr_eq(&config, &tls_config()),
            "built once per process"
        );
    }

    #[test]
    fn jti_values_are_unique_hex() {
        let (a, b) = (random_jti(), random_jti());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn config_debug_redacts_the_secret() {
        let secret = "1234567890abcdef1234567890abcdef1234567890";
        let config = ClientConfig::new(Credentials::new(key(), secret.into()));
        let shown = format!("{config:?}");
        assert!(shown.contains("api.opentok.com"), "{shown}");
        assert!(!shown.contains(secret), "{shown}");
    }
}
