use std::fmt;

use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha1::Sha1;
use sha2::Sha256;
use tiny_opentok_domain::{ApiKey, SessionId, TokenOptions};

use crate::credentials::Kind;
use crate::{jwt, t1, Credentials, Nonce, OpenTokError, TokenFormat, VonagePrivateKey};

/// Mints client tokens and REST auth JWTs for one set of credentials. The only holder of the key
/// material: for an OpenTok project both HMAC states are keyed once here and cloned for each
/// token; for a Vonage application it holds the parsed RSA key.
///
/// Minting with an explicit [`Nonce`] (or `jti`) and time is a pure function of its inputs.
#[derive(Clone)]
pub struct TokenSigner {
    api_key: ApiKey,
    keys: Keys,
}

// Not boxed: the HMAC states are cloned for every token, and one signer lives per worker.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
enum Keys {
    Hmac {
        // "partner_id=<key>&sig=", the fixed start of every T1 plaintext.
        partner_prefix: Box<str>,
        sha1: Hmac<Sha1>,
        sha256: Hmac<Sha256>,
    },
    Rsa(VonagePrivateKey),
}

impl TokenSigner {
    /// For an OpenTok project, keys the HMAC states with the secret's UTF-8 bytes (never
    /// hex-decoded; docs/protocol.md). For a Vonage application, keeps the RSA key.
    pub fn new(credentials: &Credentials) -> Self {
        let api_key = credentials.api_key().clone();
        let keys = match credentials.kind() {
            Kind::OpenTok { api_secret, .. } => {
                let secret = api_secret.expose_secret().as_bytes();
                Keys::Hmac {
                    partner_prefix: format!("partner_id={api_key}&sig=").into(),
                    // HMAC takes keys of any length (longer ones are hashed first), so this cannot fail.
                    sha1: Hmac::new_from_slice(secret).expect("HMAC accepts keys of any length"),
                    sha256: Hmac::new_from_slice(secret).expect("HMAC accepts keys of any length"),
                }
            }
            Kind::Vonage { private_key, .. } => Keys::Rsa(private_key.clone()),
        };
        Self { api_key, keys }
    }

    /// The API key (or Vonage application id) tokens are minted for.
    pub fn api_key(&self) -> &ApiKey {
        &self.api_key
    }

    /// Mints a client token in `format` with a fresh random nonce (or `jti`); `now` is the create
    /// time.
    ///
    /// # Errors
    /// [`OpenTokError::ForeignSession`] when `session_id` was not issued for this API key;
    /// [`OpenTokError::UnsupportedTokenFormat`] when `format` does not fit the credentials.
    pub fn mint(
        &self,
        format: TokenFormat,
        session_id: &SessionId,
        options: &TokenOptions,
        now: u64,
    ) -> Result<String, OpenTokError> {
        match format {
            TokenFormat::Rs256 => {
                self.rs256_token(session_id, options, now, &jwt::random_uuid_v4())
            }
            _ => self.mint_with_nonce(format, session_id, options, now, &Nonce::random()),
        }
    }

    /// [`TokenSigner::mint`] with a given nonce: the same inputs always give the same token. RS256
    /// tokens carry a `jti` instead of a nonce; this draws a random one (pin it with
    /// [`TokenSigner::rs256_token`]).
    ///
    /// # Errors
    /// As [`TokenSigner::mint`].
    pub fn mint_with_nonce(
        &self,
        format: TokenFormat,
        session_id: &SessionId,
        options: &TokenOptions,
        now: u64,
        nonce: &Nonce,
    ) -> Result<String, OpenTokError> {
        match format {
            TokenFormat::T1 => self.t1_token(session_id, options, now, nonce),
            TokenFormat::Jwt => self.jwt_token(session_id, options, now, nonce),
            TokenFormat::Rs256 => {
                self.rs256_token(session_id, options, now, &jwt::random_uuid_v4())
            }
        }
    }

    /// A legacy `T1==` token in the Node SDK's exact layout (see [`t1::data_string`]).
    ///
    /// # Errors
    /// [`OpenTokError::ForeignSession`] when `session_id` was not issued for this API key;
    /// [`OpenTokError::UnsupportedTokenFormat`] with Vonage credentials.
    pub fn t1_token(
        &self,
        session_id: &SessionId,
        options: &TokenOptions,
        now: u64,
        nonce: &Nonce,
    ) -> Result<String, OpenTokError> {
        let Keys::Hmac {
            partner_prefix,
            sha1,
            ..
        } = &self.keys
        else {
            return Err(self.unsupported(TokenFormat::T1));
        };
        self.check_owner(session_id)?;
        Ok(t1::mint(
            sha1,
            partner_prefix,
            session_id,
            options,
            now,
            nonce,
        ))
    }

    /// An HS256 JWT client token with the Node SDK's header and claim order
    /// (see [`jwt::client_token_claims`]).
    ///
    /// # Errors
    /// [`OpenTokError::ForeignSession`] when `session_id` was not issued for this API key;
    /// [`OpenTokError::UnsupportedTokenFormat`] with Vonage credentials.
    pub fn jwt_token(
        &self,
        session_id: &SessionId,
        options: &TokenOptions,
        now: u64,
        nonce: &Nonce,
    ) -> Result<String, OpenTokError> {
        let Keys::Hmac { sha256, .. } = &self.keys else {
            return Err(self.unsupported(TokenFormat::Jwt));
        };
        self.check_owner(session_id)?;
        let claims = jwt::client_token_claims(&self.api_key, session_id, options, now, nonce);
        Ok(jwt::sign_hs256(
            sha256,
            jwt::HS256_HEADER_JSON.as_bytes(),
            claims.as_bytes(),
        ))
    }

    /// An RS256 client token for a Vonage application, claims in `@vonage/video`'s order (see
    /// [`jwt::vonage_client_token_claims`]), issued at `now` with the given `jti`.
    ///
    /// # Errors
    /// [`OpenTokError::ForeignSession`] when `session_id` was not issued for this application;
    /// [`OpenTokError::UnsupportedTokenFormat`] with OpenTok credentials;
    /// [`OpenTokError::SigningFailed`] when AWS-LC cannot sign.
    pub fn rs256_token(
        &self,
        session_id: &SessionId,
        options: &TokenOptions,
        now: u64,
        jti: &str,
    ) -> Result<String, OpenTokError> {
        let Keys::Rsa(key) = &self.keys else {
            return Err(self.unsupported(TokenFormat::Rs256));
        };
        self.check_owner(session_id)?;
        let claims = jwt::vonage_client_token_claims(&self.api_key, session_id, options, now, jti);
        jwt::sign_rs256(key, jwt::RS256_HEADER_JSON.as_bytes(), claims.as_bytes())
    }

    /// The JWT that authenticates one REST call issued at `iat`, carrying `jti`: for an OpenTok
    /// project the HS256 `X-OPENTOK-AUTH` token (valid [`jwt::REST_AUTH_TTL_SECS`]); for a Vonage
    /// application the RS256 application JWT sent as `Authorization: Bearer` (valid
    /// [`jwt::APPLICATION_JWT_TTL_SECS`]).
    ///
    /// # Errors
    /// [`OpenTokError::SigningFailed`] when AWS-LC cannot sign (Vonage only).
    pub fn rest_auth_jwt(&self, iat: u64, jti: &str) -> Result<String, OpenTokError> {
        match &self.keys {
            Keys::Hmac { sha256, .. } => {
                let claims = jwt::rest_auth_claims(&self.api_key, iat, jti);
                Ok(jwt::sign_hs256(
                    sha256,
                    jwt::HS256_HEADER_JSON.as_bytes(),
                    claims.as_bytes(),
                ))
            }
            Keys::Rsa(key) => {
                let claims = jwt::application_jwt_claims(&self.api_key, iat, jti);
                jwt::sign_rs256(key, jwt::RS256_HEADER_JSON.as_bytes(), claims.as_bytes())
            }
        }
    }

    /// Signs the exact header and claims text as a compact HS256 JWS with the API secret. A building
    /// block for the tokens above, public so other SDKs' claim layouts can be reproduced in tests.
    ///
    /// # Errors
    /// [`OpenTokError::UnsupportedTokenFormat`] with Vonage credentials (there is no secret).
    pub fn sign_hs256(&self, header_json: &str, claims_json: &str) -> Result<String, OpenTokError> {
        match &self.keys {
            Keys::Hmac { sha256, .. } => Ok(jwt::sign_hs256(
                sha256,
                header_json.as_bytes(),
                claims_json.as_bytes(),
            )),
            Keys::Rsa(_) => Err(self.unsupported(TokenFormat::Jwt)),
        }
    }

    /// Signs the exact header and claims text as a compact RS256 JWS with the Vonage private key;
    /// the RS256 counterpart of [`TokenSigner::sign_hs256`].
    ///
    /// # Errors
    /// [`OpenTokError::UnsupportedTokenFormat`] with OpenTok credentials;
    /// [`OpenTokError::SigningFailed`] when AWS-LC cannot sign.
    pub fn sign_rs256(&self, header_json: &str, claims_json: &str) -> Result<String, OpenTokError> {
        match &self.keys {
            Keys::Rsa(key) => jwt::sign_rs256(key, header_json.as_bytes(), claims_json.as_bytes()),
            Keys::Hmac { .. } => Err(self.unsupported(TokenFormat::Rs256)),
        }
    }

    fn unsupported(&self, format: TokenFormat) -> OpenTokError {
        OpenTokError::UnsupportedTokenFormat {
            format: format.as_str(),
            credentials: match self.keys {
                Keys::Hmac { .. } => "OpenTok",
                Keys::Rsa(_) => "Vonage application",
            },
        }
    }

    fn check_owner(&self, session_id: &SessionId) -> Result<(), OpenTokError> {
        if session_id.belongs_to(&self.api_key) {
            Ok(())
        } else {
            Err(OpenTokError::ForeignSession {
                session_id: session_id.to_string(),
                api_key: self.api_key.to_string(),
            })
        }
    }
}

impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSigner")
            .field("api_key", &self.api_key)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;
    use tiny_opentok_domain::TokenParams;

    const SECRET: &str = "1234567890abcdef1234567890abcdef1234567890";
    const SID: &str = "1_MX4xMjM0NTZ-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4";
    // The same record with API key 654321.
    const FOREIGN: &str = "1_MX42NTQzMjF-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4";
    const NOW: u64 = 1_700_000_000;

    fn signer() -> TokenSigner {
        TokenSigner::new(&Credentials::new(
            ApiKey::parse("123456").unwrap(),
            SecretString::from(SECRET),
        ))
    }

    fn defaults() -> TokenOptions {
        TokenOptions::new(TokenParams::default(), NOW).unwrap()
    }

    #[test]
    fn pins_the_node_default_publisher_t1_token() {
        let sid = SessionId::parse(SID).unwrap();
        let nonce = Nonce::new(0.5488135039273248).unwrap();
        let token = signer().t1_token(&sid, &defaults(), NOW, &nonce).unwrap();
        assert_eq!(
            token,
            "T1==cGFydG5lcl9pZD0xMjM0NTYmc2lnPWVkMDgxMzVmZDk0NzMzYjMyYWU4NmIxOGUyN2ZlNmZkM2MyN2JlNTY6c2Vzc2lvbl9pZD0xX01YNHhNak0wTlRaLWZsTmhkQ0JOWVhJZ01UVWdNVFE2TkRJNk1qTWdVRVJVSURJd01UUi1NQzQwT1RBeE16QXlOWDQmY3JlYXRlX3RpbWU9MTcwMDAwMDAwMCZub25jZT0wLjU0ODgxMzUwMzkyNzMyNDgmcm9sZT1wdWJsaXNoZXImZXhwaXJlX3RpbWU9MTcwMDA4NjQwMCZpbml0aWFsX2xheW91dF9jbGFzc19saXN0PSZzY29wZT1zZXNzaW9uLmNvbm5lY3Q="
        );
        let decoded = t1::decode(&token).unwrap();
        assert_eq!(
            decoded.signature(),
            "ed08135fd94733b32ae86b18e27fe6fd3c27be56"
        );
        assert!(decoded.verify(&SecretString::from(SECRET)));
    }

    #[test]
    fn pins_the_node_rest_auth_jwt_layout() {
        let node_claims = r#"{"iss":"123456","ist":"project","iat":1700000000,"exp":1700000300}"#;
        assert_eq!(
            signer()
                .sign_hs256(jwt::HS256_HEADER_JSON, node_claims)
                .unwrap(),
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiIxMjM0NTYiLCJpc3QiOiJwcm9qZWN0IiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDAzMDB9.NQ-QKS1mi_SRiz9UkEOgEMA-B0HKdwkIkLGxWz7g9vI"
        );
    }

    #[test]
    fn refuses_a_session_of_another_api_key_in_both_formats() {
        let foreign = SessionId::parse(FOREIGN).unwrap();
        for format in [TokenFormat::T1, TokenFormat::Jwt] {
            let err = signer()
                .mint(format, &foreign, &defaults(), NOW)
                .unwrap_err();
            assert!(
                matches!(&err, OpenTokError::ForeignSession { session_id, api_key }
                    if session_id == FOREIGN && api_key == "123456"),
                "{err:?}"
            );
        }
    }

    #[test]
    fn two_tokens_minted_in_the_same_second_differ() {
        let sid = SessionId::parse(SID).unwrap();
        for format in [TokenFormat::T1, TokenFormat::Jwt] {
            let a = signer().mint(format, &sid, &defaults(), NOW).unwrap();
            let b = signer().mint(format, &sid, &defaults(), NOW).unwrap();
            assert_ne!(a, b);
        }
    }

    #[test]
    fn debug_shows_the_key_but_not_the_secret() {
        let shown = format!("{:?}", signer());
        assert!(shown.contains("123456"), "{shown}");
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(!shown.contains("1234567890abcdef"), "{shown}");
    }
}
