use std::time::Duration;

use async_trait::async_trait;
use tiny_opentok_domain::{ApiKey, SessionId, SessionOptions, TokenOptions};

use crate::{Credentials, OpenTokApi, OpenTokError, TokenFormat, TokenSigner};

/// OpenTok's production REST endpoint.
pub const DEFAULT_API_URL: &str = "https://api.opentok.com";

/// How to reach OpenTok and which tokens to mint.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Key and secret.
    pub credentials: Credentials,
    /// REST base URL, without a trailing slash ([`DEFAULT_API_URL`] in production).
    pub base_url: String,
    /// Limit on one REST call, connect to last byte.
    pub timeout: Duration,
    /// T1 or JWT client tokens.
    pub token_format: TokenFormat,
}

impl ClientConfig {
    /// Production URL, 10 s timeout, T1 tokens.
    pub fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            base_url: DEFAULT_API_URL.to_owned(),
            timeout: Duration::from_secs(10),
            token_format: TokenFormat::T1,
        }
    }
}

/// The real client: awc for REST (one pooled client, built once), local signing for tokens.
/// Skeleton: filled in by the opentok-client work.
pub struct HttpOpenTokClient {
    config: ClientConfig,
    signer: TokenSigner,
}

impl HttpOpenTokClient {
    /// Builds the client; call it once per worker thread and reuse it.
    pub fn new(config: ClientConfig) -> Self {
        let signer = TokenSigner::new(&config.credentials);
        Self { config, signer }
    }
}

#[async_trait(?Send)]
impl OpenTokApi for HttpOpenTokClient {
    fn api_key(&self) -> &ApiKey {
        self.config.credentials.api_key()
    }

    async fn create_session(&self, _options: &SessionOptions) -> Result<SessionId, OpenTokError> {
        todo!()
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
