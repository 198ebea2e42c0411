use std::fmt;
use std::path::Path;
use std::str::FromStr;

use secrecy::{ExposeSecret as _, SecretString};
use tiny_opentok_domain::ApiKey;

use crate::{ApplicationId, OpenTokError, VonagePrivateKey};

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

/// One configuration setting: the name its users know it by (for messages) and its value, if set.
#[derive(Debug)]
pub struct Setting<'a, T: ?Sized> {
    /// How users spell it, e.g. `OPENTOK_KEY`.
    pub name: &'a str,
    /// Its value, when set.
    pub value: Option<&'a T>,
}

impl<'a, T: ?Sized> Setting<'a, T> {
    /// A named setting.
    pub fn new(name: &'a str, value: Option<&'a T>) -> Self {
        Self { name, value }
    }
}

/// The five credential settings a server reads, of which exactly one kind may be set: an OpenTok
/// key and secret, or a Vonage application id with its private key from a file or inline.
#[derive(Debug)]
pub struct CredentialSettings<'a> {
    /// The OpenTok API key.
    pub api_key: Setting<'a, ApiKey>,
    /// The OpenTok API secret.
    pub api_secret: Setting<'a, SecretString>,
    /// The Vonage application id, checked with [`ApplicationId::parse`].
    pub application_id: Setting<'a, str>,
    /// A file holding the application's PEM private key.
    pub private_key_path: Setting<'a, Path>,
    /// The PEM private key itself (`\n` for line breaks is read too).
    pub private_key: Setting<'a, SecretString>,
}

impl CredentialSettings<'_> {
    /// The credentials these settings give; `Ok(None)` when none is set, so the caller decides
    /// what that means. Reads the key file, if one is named.
    ///
    /// # Errors
    /// [`OpenTokError::InvalidCredentials`], naming the settings: both kinds or half of one set,
    /// both key settings set, an application id that is not a UUID, a key file that cannot be
    /// read, or a key that [`VonagePrivateKey::from_pem`] refuses. No message quotes key material or the secret.
    pub fn credentials(&self) -> Result<Option<Credentials>, OpenTokError> {
        let opentok = names_of_set(&[
            (self.api_key.name, self.api_key.value.is_some()),
            (self.api_secret.name, self.api_secret.value.is_some()),
        ]);
        let vonage = names_of_set(&[
            (
                self.application_id.name,
                self.application_id.value.is_some(),
            ),
            (
                self.private_key_path.name,
                self.private_key_path.value.is_some(),
            ),
            (self.private_key.name, self.private_key.value.is_some()),
        ]);
        let refuse = |what: String| {
            Err(OpenTokError::InvalidCredentials {
                reason: format!("{what}; {}", self.either()),
            })
        };
        if opentok.is_empty() && vonage.is_empty() {
            return Ok(None);
        }
        if !opentok.is_empty() && !vonage.is_empty() {
            return refuse(format!(
                "two kinds of credentials are set ({} and {})",
                opentok.join(", "),
                vonage.join(", ")
            ));
        }
        if let (Some(key), Some(secret)) = (self.api_key.value, self.api_secret.value) {
            return Ok(Some(Credentials::new(key.clone(), secret.clone())));
        }
        if self.private_key_path.value.is_some() && self.private_key.value.is_some() {
            return refuse(format!(
                "both {} and {} are set, give the key only one way",
                self.private_key_path.name, self.private_key.name
            ));
        }
        match self.application_id.value {
            Some(id) if vonage.len() == 2 => {
                let id = ApplicationId::parse(id.trim())
                    .map_err(|e| named(self.application_id.name, e))?;
                Ok(Some(Credentials::vonage(id, self.private_key()?)))
            }
            _ => refuse(format!(
                "incomplete credentials (only {} set)",
                [opentok, vonage].concat().join(", ")
            )),
        }
    }

    fn either(&self) -> String {
        format!(
            "set either {} and {} (an OpenTok project) or {} with one of {} or {} (a Vonage application)",
            self.api_key.name,
            self.api_secret.name,
            self.application_id.name,
            self.private_key_path.name,
            self.private_key.name
        )
    }

    /// The key from the one key setting that is set (the caller checked there is exactly one).
    fn private_key(&self) -> Result<VonagePrivateKey, OpenTokError> {
        if let Some(path) = self.private_key_path.value {
            let name = self.private_key_path.name;
            let pem =
                std::fs::read_to_string(path).map_err(|e| OpenTokError::InvalidCredentials {
                    reason: format!("{name}: cannot read {}: {e}", path.display()),
                })?;
            VonagePrivateKey::from_pem(&pem).map_err(|e| named(name, e))
        } else {
            let name = self.private_key.name;
            let pem = self.private_key.value.map_or("", |k| k.expose_secret());
            VonagePrivateKey::from_pem(pem).map_err(|e| named(name, e))
        }
    }
}

fn names_of_set<'a>(settings: &[(&'a str, bool)]) -> Vec<&'a str> {
    settings
        .iter()
        .filter(|(_, set)| *set)
        .map(|(name, _)| *name)
        .collect()
}

/// `e` as the error of the setting `name`.
fn named(name: &str, e: OpenTokError) -> OpenTokError {
    let reason = match e {
        OpenTokError::InvalidCredentials { reason } => reason,
        other => other.to_string(),
    };
    OpenTokError::InvalidCredentials {
        reason: format!("{name}: {reason}"),
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

    const APP_ID: &str = "29f760f8-7ce1-46c9-ade3-f2dedee4ed5f";
    const PEM: &str = include_str!("../tests/data/test-only-rsa2048.pem");

    struct Values {
        key: Option<ApiKey>,
        secret: Option<SecretString>,
        id: Option<String>,
        path: Option<std::path::PathBuf>,
        pem: Option<SecretString>,
    }

    impl Values {
        fn none() -> Self {
            Self {
                key: None,
                secret: None,
                id: None,
                path: None,
                pem: None,
            }
        }

        fn settings(&self) -> CredentialSettings<'_> {
            CredentialSettings {
                api_key: Setting::new("KEY", self.key.as_ref()),
                api_secret: Setting::new("SECRET", self.secret.as_ref()),
                application_id: Setting::new("APP_ID", self.id.as_deref()),
                private_key_path: Setting::new("KEY_PATH", self.path.as_deref()),
                private_key: Setting::new("KEY_PEM", self.pem.as_ref()),
            }
        }

        fn refusal(&self) -> String {
            match self.settings().credentials() {
                Err(e @ OpenTokError::InvalidCredentials { .. }) => e.to_string(),
                other => panic!("expected InvalidCredentials, got {other:?}"),
            }
        }
    }

    fn opentok() -> Values {
        Values {
            key: Some(ApiKey::parse("123456").unwrap()),
            secret: Some(SECRET.into()),
            ..Values::none()
        }
    }

    fn vonage_inline(pem: &str) -> Values {
        Values {
            id: Some(APP_ID.to_owned()),
            pem: Some(pem.into()),
            ..Values::none()
        }
    }

    #[test]
    fn no_credential_setting_gives_none() {
        assert!(Values::none().settings().credentials().unwrap().is_none());
    }

    #[test]
    fn each_complete_kind_gives_its_credentials() {
        let ot = opentok().settings().credentials().unwrap().unwrap();
        assert!(!ot.is_vonage());
        assert_eq!(ot.api_key().as_str(), "123456");

        let one_line = PEM.trim_end().replace('\n', "\\n");
        let inline = vonage_inline(&one_line)
            .settings()
            .credentials()
            .unwrap()
            .unwrap();
        assert_eq!(inline.application_id().unwrap().as_str(), APP_ID);

        let from_file = Values {
            id: Some(APP_ID.to_owned()),
            path: Some(
                concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/tests/data/test-only-rsa2048.pem"
                )
                .into(),
            ),
            ..Values::none()
        };
        let file = from_file.settings().credentials().unwrap().unwrap();
        assert!(file.is_vonage());
        assert_eq!(file.api_key().as_str(), APP_ID);
    }

    #[test]
    fn two_kinds_are_refused_naming_every_setting_given() {
        let both = Values {
            id: Some(APP_ID.to_owned()),
            pem: Some(PEM.into()),
            ..opentok()
        };
        let err = both.refusal();
        for name in ["KEY", "SECRET", "APP_ID", "KEY_PEM", "two kinds"] {
            assert!(err.contains(name), "{name}: {err}");
        }
        assert!(!err.contains("BEGIN") && !err.contains(SECRET), "{err}");
    }

    #[test]
    fn half_of_a_kind_is_refused_naming_what_is_set_and_what_is_needed() {
        let only_key = Values {
            secret: None,
            ..opentok()
        };
        let only_id = Values {
            pem: None,
            ..vonage_inline(PEM)
        };
        let only_pem = Values {
            id: None,
            ..vonage_inline(PEM)
        };
        for (values, set) in [
            (only_key, "KEY"),
            (only_id, "APP_ID"),
            (only_pem, "KEY_PEM"),
        ] {
            let err = values.refusal();
            assert!(err.contains(&format!("only {set} set")), "{err}");
            assert!(err.contains("set either KEY and SECRET"), "{err}");
        }
        let two_keys = Values {
            path: Some("/nonexistent".into()),
            ..vonage_inline(PEM)
        };
        let err = two_keys.refusal();
        assert!(err.contains("both KEY_PATH and KEY_PEM"), "{err}");
    }

    #[test]
    fn an_application_id_that_is_not_a_uuid_is_refused_naming_its_setting() {
        let values = Values {
            id: Some("not-a-uuid".to_owned()),
            ..vonage_inline(PEM)
        };
        let err = values.refusal();
        assert!(
            err.contains("APP_ID: the application id \"not-a-uuid\""),
            "{err}"
        );
    }

    #[test]
    fn bad_keys_are_refused_naming_the_setting_never_the_key() {
        let missing_file = Values {
            id: Some(APP_ID.to_owned()),
            path: Some("/nonexistent/key.pem".into()),
            ..Values::none()
        };
        let err = missing_file.refusal();
        assert!(
            err.contains("KEY_PATH: cannot read /nonexistent/key.pem"),
            "{err}"
        );

        let short = include_str!("../tests/data/test-only-rsa1024.pem");
        let ec = include_str!("../tests/data/test-only-ec-p256.pem");
        let cut = &PEM[..PEM.len() / 2];
        for (pem, needle) in [
            (short, "shorter than 2048 bits"),
            (ec, "not an RSA key"),
            (cut, "KEY_PEM: "),
        ] {
            let err = vonage_inline(pem).refusal();
            assert!(err.contains("KEY_PEM: ") && err.contains(needle), "{err}");
            let body_line = pem.lines().nth(1).unwrap();
            assert!(!err.contains(body_line), "key material leaked: {err}");
        }
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
