use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::DomainError;

/// An OpenTok API key (numeric, e.g. `123456`) or a Vonage application id (a UUID).
///
/// The key is public (it appears in every token and session id), so it may be logged.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ApiKey(Box<str>);

impl ApiKey {
    /// The longest key accepted; a UUID is 36 characters.
    pub const MAX_LEN: usize = 64;

    /// Accepts 1 to 64 characters of ASCII letters, digits and `-`.
    ///
    /// # Errors
    /// [`DomainError::InvalidApiKey`] naming the rule broken.
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        if value.is_empty() {
            return Err(DomainError::InvalidApiKey {
                reason: "it is empty",
            });
        }
        if value.len() > Self::MAX_LEN {
            return Err(DomainError::InvalidApiKey {
                reason: "it is longer than 64 characters",
            });
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(DomainError::InvalidApiKey {
                reason: "only ASCII letters, digits and '-' are allowed",
            });
        }
        Ok(Self(value.into()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({})", self.0)
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ApiKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ApiKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_numeric_keys_and_application_ids() {
        assert_eq!(ApiKey::parse("123456").unwrap().as_str(), "123456");
        assert!(ApiKey::parse("29f760f8-7ce1-46c9-ade3-f2dedee4ed5f").is_ok());
    }

    #[test]
    fn rejects_empty_long_and_odd_keys() {
        assert!(ApiKey::parse("").is_err());
        assert!(ApiKey::parse(&"1".repeat(65)).is_err());
        assert!(ApiKey::parse(&"1".repeat(64)).is_ok());
        for bad in ["12 34", "123~456", "123\n", "clé"] {
            assert!(ApiKey::parse(bad).is_err(), "{bad:?}");
        }
    }
}
