use std::fmt;
use std::str::FromStr;

use secrecy::SecretString;
use tiny_opentok_domain::ApiKey;

/// An OpenTok project's API key and secret. `Debug` never shows the secret.
#[derive(Clone)]
pub struct Credentials {
    api_key: ApiKey,
    api_secret: SecretString,
}

impl Credentials {
    /// Pairs a key with its secret.
    pub fn new(api_key: ApiKey, api_secret: SecretString) -> Self {
        Self {
            api_key,
            api_secret,
        }
    }

    /// The API key.
    pub fn api_key(&self) -> &ApiKey {
        &self.api_key
    }

    pub(crate) fn secret(&self) -> &SecretString {
        &self.api_secret
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key", &self.api_key)
            .field("api_secret", &"[REDACTED]")
            .finish()
    }
}

/// Which kind of client token to mint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenFormat {
    /// The legacy `T1==` format the Node SDK used by default (and the original server sent).
    #[default]
    T1,
    /// An HS256 JWT, the current SDKs' default.
    Jwt,
}

impl TokenFormat {
    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::T1 => "t1",
            Self::Jwt => "jwt",
        }
    }
}

impl FromStr for TokenFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "t1" => Ok(Self::T1),
            "jwt" => Ok(Self::Jwt),
            other => Err(format!("token format must be 't1' or 'jwt', got {other:?}")),
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
        for format in [TokenFormat::T1, TokenFormat::Jwt] {
            assert_eq!(format.as_str().parse::<TokenFormat>(), Ok(format));
        }
        assert_eq!(TokenFormat::default(), TokenFormat::T1);
        let err = "JWT".parse::<TokenFormat>().unwrap_err();
        assert!(err.contains("'t1' or 'jwt'"), "{err}");
    }
}
