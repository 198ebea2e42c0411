use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha1::Sha1;
use sha2::Sha256;
use tiny_opentok_domain::{ApiKey, SessionId, TokenOptions};

use crate::{jwt, t1, Credentials, Nonce, OpenTokError, TokenFormat};

/// Mints client tokens and REST auth JWTs for one API key. The only holder of the secret's key
/// material: both HMAC states are keyed once here and cloned for each token.
///
/// Minting with an explicit [`Nonce`] and time is a pure function of its inputs.
#[derive(Clone)]
pub struct TokenSigner {
    api_key: ApiKey,
    // "partner_id=<key>&sig=", the fixed start of every T1 plaintext.
    partner_prefix: Box<[u8]>,
    sha1: Hmac<Sha1>,
    sha256: Hmac<Sha256>,
}

impl TokenSigner {
    /// Keys the HMAC states with the secret's UTF-8 bytes (never hex-decoded; docs/protocol.md).
    pub fn new(credentials: &Credentials) -> Self {
        let secret = credentials.secret().expose_secret().as_bytes();
        let api_key = credentials.api_key().clone();
        Self {
            partner_prefix: format!("partner_id={api_key}&sig=").into_bytes().into(),
            api_key,
            // HMAC takes keys of any length (longer ones are hashed first), so this cannot fail.
            sha1: Hmac::new_from_slice(secret).expect("HMAC accepts keys of any length"),
            sha256: Hmac::new_from_slice(secret).expect("HMAC accepts keys of any length"),
        }
    }

    /// The API key tokens are minted for.
    pub fn api_key(&self) -> &ApiKey {
        &self.api_key
    }

    /// Mints a client token in `format` with a fresh random nonce; `now` is the create time.
    ///
    /// # Errors
    /// [`OpenTokError::ForeignSession`] when `session_id` was not issued for this API key.
    pub fn mint(
        &self,
        format: TokenFormat,
        session_id: &SessionId,
        options: &TokenOptions,
        now: u64,
    ) -> Result<String, OpenTokError> {
        self.mint_with_nonce(format, session_id, options, now, &Nonce::random())
    }

    /// [`TokenSigner::mint`] with a given nonce: the same inputs always give the same token.
    ///
    /// # Errors
    /// [`OpenTokError::ForeignSession`] when `session_id` was not issued for this API key.
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
        }
    }

    /// [`TokenSigner::mint_with_nonce`], appending the token's ASCII bytes to `out` instead of
    /// returning a string; `out` is left as it was on error.
    ///
    /// # Errors
    /// [`OpenTokError::ForeignSession`] when `session_id` was not issued for this API key.
    pub fn mint_into(
        &self,
        format: TokenFormat,
        session_id: &SessionId,
        options: &TokenOptions,
        now: u64,
        nonce: &Nonce,
        out: &mut Vec<u8>,
    ) -> Result<(), OpenTokError> {
        match format {
            TokenFormat::T1 => {
                self.check_owner(session_id)?;
                t1::mint_into(
                    &self.sha1,
                    &self.partner_prefix,
                    session_id,
                    options,
                    now,
                    nonce,
                    out,
                );
            }
            TokenFormat::Jwt => {
                let token = self.jwt_token(session_id, options, now, nonce)?;
                out.extend_from_slice(token.as_bytes());
            }
        }
        Ok(())
    }

    /// A legacy `T1==` token in the Node SDK's exact layout (see [`t1::data_string`]).
    ///
    /// # Errors
    /// [`OpenTokError::ForeignSession`] when `session_id` was not issued for this API key.
    pub fn t1_token(
        &self,
        session_id: &SessionId,
        options: &TokenOptions,
        now: u64,
        nonce: &Nonce,
    ) -> Result<String, OpenTokError> {
        let mut token = Vec::new();
        self.mint_into(TokenFormat::T1, session_id, options, now, nonce, &mut token)?;
        // Only the ASCII prefix and base64 were written.
        Ok(String::from_utf8(token).unwrap_or_default())
    }

    /// An HS256 JWT client token with the Node SDK's header and claim order
    /// (see [`jwt::client_token_claims`]).
    ///
    /// # Errors
    /// [`OpenTokError::ForeignSession`] when `session_id` was not issued for this API key.
    pub fn jwt_token(
        &self,
        session_id: &SessionId,
        options: &TokenOptions,
        now: u64,
        nonce: &Nonce,
    ) -> Result<String, OpenTokError> {
        self.check_owner(session_id)?;
        let claims = jwt::client_token_claims(&self.api_key, session_id, options, now, nonce);
        Ok(self.sign_hs256(jwt::HS256_HEADER_JSON, &claims))
    }

    /// The `X-OPENTOK-AUTH` JWT for one REST call issued at `iat`, valid for
    /// [`jwt::REST_AUTH_TTL_SECS`], carrying `jti`.
    pub fn rest_auth_jwt(&self, iat: u64, jti: &str) -> String {
        let claims = jwt::rest_auth_claims(&self.api_key, iat, jti);
        self.sign_hs256(jwt::HS256_HEADER_JSON, &claims)
    }

    /// Signs the exact header and claims text as a compact HS256 JWS with the API secret. A building
    /// block for the tokens above, public so other SDKs' claim layouts can be reproduced in tests.
    pub fn sign_hs256(&self, header_json: &str, claims_json: &str) -> String {
        jwt::sign_hs256(&self.sha256, header_json.as_bytes(), claims_json.as_bytes())
    }

    fn check_owner(&self, session_id: &SessionId) -> Result<(), OpenTokError> {
        if issued_for(session_id, &self.api_key) {
            Ok(())
        } else {
            Err(OpenTokError::ForeignSession {
                session_id: session_id.to_string(),
                api_key: self.api_key.to_string(),
            })
        }
    }
}

/// The answer of [`SessionId::belongs_to`] (field 1 of the decoded record equals the key) without
/// its allocations, which cost as much as the HMAC itself on the minting path. Field 1 sits near the
/// start of the record, so a prefix is decoded first; ids whose first two fields it does not hold,
/// and ids that need the domain crate's lenient decoding, take the longer ways.
fn issued_for(session_id: &SessionId, key: &ApiKey) -> bool {
    // SessionId::parse guarantees a two-character ASCII prefix and at most 255 characters, so the
    // record fits: 253 base64 characters decode to at most 190 bytes.
    let mut record = [0u8; 256];
    let body = session_id.as_str().get(2..).unwrap_or_default().as_bytes();
    // Whole 4-character groups decode without padding: room for the key and a field 0 of up to
    // 13 bytes (real ids have 1).
    let prefix = (key.as_str().len() + 16).div_ceil(3) * 4;
    if let Some(head) = body.get(..prefix) {
        if let Ok(len) = URL_SAFE_NO_PAD.decode_slice(head, &mut record) {
            let mut fields = record[..len].splitn(3, |&b| b == b'~');
            let (_, field1, rest) = (fields.next(), fields.next(), fields.next());
            if rest.is_some() {
                return field1 == Some(key.as_str().as_bytes());
            }
        }
    }
    match URL_SAFE_NO_PAD.decode_slice(body, &mut record) {
        Ok(len) => record[..len].split(|&b| b == b'~').nth(1) == Some(key.as_str().as_bytes()),
        Err(_) => session_id.belongs_to(key),
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
    fn mint_into_appends_the_same_token_mint_returns() {
        let sid = SessionId::parse(SID).unwrap();
        let nonce = Nonce::new(0.25).unwrap();
        let data = TokenParams {
            data: "name=Ann & co: \"é\"".to_owned(),
            ..TokenParams::default()
        };
        for options in [defaults(), TokenOptions::new(data, NOW).unwrap()] {
            for format in [TokenFormat::T1, TokenFormat::Jwt] {
                let token = signer()
                    .mint_with_nonce(format, &sid, &options, NOW, &nonce)
                    .unwrap();
                let mut out = b"before:".to_vec();
                signer()
                    .mint_into(format, &sid, &options, NOW, &nonce, &mut out)
                    .unwrap();
                assert_eq!(out, [b"before:", token.as_bytes()].concat(), "{format:?}");
            }
        }
        let foreign = SessionId::parse(FOREIGN).unwrap();
        let mut out = b"kept".to_vec();
        let err = signer().mint_into(
            TokenFormat::T1,
            &foreign,
            &defaults(),
            NOW,
            &nonce,
            &mut out,
        );
        assert!(matches!(err, Err(OpenTokError::ForeignSession { .. })));
        assert_eq!(out, b"kept");
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
            signer().sign_hs256(jwt::HS256_HEADER_JSON, node_claims),
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
    fn ownership_check_agrees_with_the_domain_on_sdk_ids() {
        let ids = [
            SID,
            FOREIGN,
            "2_MX4xNzAxMjYzMX4xMjcuMC4wLjF-V2VkIEZlYiAyNiAxODo1NzoyNCBQU1QgMjAxNH4wLjU0MDU4ODc0fg",
            "1_MX40NzY2NTk3MX5-MTczOTUzODg5NDk1OX5ROW1jWEcxUXJOM1RJWXU4eStwcHgvZ3N-UH5-",
            "1_MX4yOWY3NjBmOC03Y2UxLTQ2YzktYWRlMy1mMmRlZGVlNGVkNWZ-fjE3MjY0NjI1ODg2NDd-MTF4TGExYmJoelBlR1FHbVhzbWd4STBrfn5-",
        ];
        let keys = [
            "123456",
            "654321",
            "17012631",
            "47665971",
            "12345",
            "1234567",
            "29f760f8-7ce1-46c9-ade3-f2dedee4ed5f",
        ];
        let mut matches = 0;
        for id in ids {
            let id = SessionId::parse(id).unwrap();
            for key in keys {
                let key = ApiKey::parse(key).unwrap();
                assert_eq!(issued_for(&id, &key), id.belongs_to(&key), "{id} {key}");
                matches += usize::from(issued_for(&id, &key));
            }
        }
        assert_eq!(matches, ids.len());
    }

    proptest::proptest! {
        #[test]
        fn ownership_check_agrees_with_the_domain(
            issued in "[0-9]{1,12}|[0-9a-f-]{36}",
            asked in "[0-9]{1,12}",
            ms in proptest::prelude::any::<u64>(),
            random in "[A-Za-z0-9+/]{0,24}",
        ) {
            let issued = ApiKey::parse(&issued).unwrap();
            let id = SessionId::encode(&issued, None, ms, &random).unwrap();
            for key in [issued.clone(), ApiKey::parse(&asked).unwrap()] {
                proptest::prop_assert_eq!(issued_for(&id, &key), id.belongs_to(&key));
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn ownership_check_agrees_with_the_domain_whatever_the_first_field(
            first in "[0-9a-z]{0,30}",
            issued in "[0-9]{1,12}|[0-9a-f-]{36}",
            asked in "[0-9]{1,12}",
            rest in "[A-Za-z0-9.: ~-]{2,60}",
        ) {
            use base64::Engine as _;
            let record = format!("{first}~{issued}~{rest}~~");
            let id = SessionId::parse(&format!("1_{}", URL_SAFE_NO_PAD.encode(record))).unwrap();
            for key in [ApiKey::parse(&issued).unwrap(), ApiKey::parse(&asked).unwrap()] {
                proptest::prop_assert_eq!(issued_for(&id, &key), id.belongs_to(&key));
            }
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
