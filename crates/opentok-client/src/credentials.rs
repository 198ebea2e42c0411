use std::fmt;
use std::str::FromStr;

use secrecy::SecretString;
use tiny_opentok_domain::ApiKey;

use crate::{ApplicationId, VonagePrivateKey};

/// What REST calls are authenticated with and client tokens signed with: an OpenTok project's API
/// key and secret, or a Vonage application's id and RSA private key. `Debug` never shows the
/// secret or the key.
#[derive(Clone)]
pub struct Credentials {
    kind: Kind,
}

#[derive(Clone)]
pub(crate) enum Kind {
    OpenTok {
        api_key: ApiKey,
        api_secret: SecretString,
    },
    Vonage {
        application_id: ApplicationId,
        private_key: VonagePrivateKey,
    },
}

impl Credentials {
    /// An OpenTok project: a key with its secret (HMAC-signed tokens, `X-OPENTOK-AUTH`).
    pub fn new(api_key: ApiKey, api_secret: SecretString) -> Self {
        Self {
            kind: Kind::OpenTok {
                api_key,
                api_secret,
            },
        }
    }

    /// A Vonage application: its id with its RSA private key (RS256 tokens,
    /// `Authorization: Bearer`). Read the key with [`VonagePrivateKey::from_pem`].
    pub fn vonage(application_id: ApplicationId, private_key: VonagePrivateKey) -> Self {
        Self {
            kind: Kind::Vonage {
                application_id,
                private_key,
            },
        }
    }

    /// What clients connect with and session ids carry: the API key, or the application id.
    pub fn api_key(&self) -> &ApiKey {
        match &self.kind {
            Kind::OpenTok { api_key, .. } => api_key,
            Kind::Vonage { application_id, .. } => application_id.as_api_key(),
        }
    }

    /// The application id, for Vonage credentials.
    pub fn application_id(&self) -> Option<&ApplicationId> {
        match &self.kind {
            Kind::OpenTok { .. } => None,
            Kind::Vonage { application_id, .. } => Some(application_id),
        }
    }

    /// Whether these are Vonage application credentials.
    pub fn is_vonage(&self) -> bool {
        matches!(self.kind, Kind::Vonage { .. })
    }

    pub(crate) fn kind(&self) -> &Kind {
        &self.kind
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::OpenTok { api_key, .. } => f
                .debug_struct("Credentials")
                .field("api_key", api_key)
                .field("api_secret", &"[REDACTED]")
                .finish(),
            Kind::Vonage {
                application_id,
                private_key,
            } => f
                .debug_struct("Credentials")
                .field("application_id", &application_id.as_str())
                .field("private_key", private_key)
                .finish(),
        }
    }
}

/// Which kind of client token to mint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenFormat {
    /// The legacy `T1==` format the Node SDK used by default (and the original server sent).
    #[default]
    T1,
    /// An HS256 JWT, the current SDKs' default with OpenTok credentials.
    Jwt,
    /// An RS256 JWT, the only format for Vonage application credentials.
    Rs256,
}

impl TokenFormat {
    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::T1 => "t1",
            Self::Jwt => "jwt",
            Self::Rs256 => "rs256",
        }
    }

    /// The format to mint when none is configured: T1 for OpenTok credentials (what the original
    /// server sent), RS256 for a Vonage application (the only one it can sign).
    pub fn default_for(credentials: &Credentials) -> Self {
        if credentials.is_vonage() {
            Self::Rs256
        } else {
            Self::T1
        }
    }

    /// Whether tokens of this format can be signed with `credentials`: T1 and JWT need an API
    /// secret, RS256 needs a Vonage private key.
    pub fn fits(self, credentials: &Credentials) -> bool {
        (self == Self::Rs256) == credentials.is_vonage()
    }
}

impl FromStr for TokenFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "t1" => Ok(Self::T1),
            "jwt" => Ok(Self::Jwt),
            "rs256" => Ok(Self::Rs256),
            other => Err(format!(
                "token format must be 't1' or 'jwt' (or 'rs256' with Vonage application credentials), got {other:?}"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "1234567890abcdef1234567890abcdef1234567890";

    #[test]
    fn debug_redacts_the_secret() {
        let credentials = Credentials::new(ApiKey::parse("123456").unwrap(), SECRET.into());
        let shown = format!("{credentials:?} {credentials:#?}");
        assert!(shown.contains("123456"), "{shown}");
        assert!(shown.contains("[REDACTED]"), "{shown}");
        assert!(!shown.contains(SECRET), "{shown}");
    }

    #[test]
    fn token_format_parses_only_its_config_spellings() {
        for format in [TokenFormat::T1, TokenFormat::Jwt, TokenFormat::Rs256] {
            assert_eq!(format.as_str().parse::<TokenFormat>(), Ok(format));
        }
        assert_eq!(TokenFormat::default(), TokenFormat::T1);
        let err = "JWT".parse::<TokenFormat>().unwrap_err();
        assert!(err.contains("'t1' or 'jwt'"), "{err}");
    }
}
