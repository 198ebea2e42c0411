//! Vonage application credentials: the application id and the RSA private key that signs RS256
//! client tokens and the application JWT of REST calls (docs/protocol.md, "Vonage applications").

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair as _, RsaKeyPair, RSA_PKCS1_SHA256};
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::PrivateKeyDer;
use tiny_opentok_domain::ApiKey;

use crate::OpenTokError;

/// The shortest RSA modulus accepted, in bits (what Vonage generates and aws-lc-rs's floor).
pub const MIN_RSA_BITS: usize = 2048;

/// A Vonage application id: a UUID in its 36-character text form (either case).
///
/// Clients connect with it where OpenTok clients use the API key, and session ids minted for the
/// application carry it where OpenTok ids carry the key, so it also exists as an [`ApiKey`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApplicationId(ApiKey);

impl ApplicationId {
    /// Checks the UUID text form `8-4-4-4-12` hex digits.
    ///
    /// # Errors
    /// [`OpenTokError::InvalidCredentials`] saying what is wrong (the value is not secret).
    pub fn parse(value: &str) -> Result<Self, OpenTokError> {
        let invalid = |why: &str| OpenTokError::InvalidCredentials {
            reason: format!("the application id {value:?} is not a UUID: {why}"),
        };
        let bytes = value.as_bytes();
        if bytes.len() != 36 {
            return Err(invalid("it must be 36 characters"));
        }
        for (i, &b) in bytes.iter().enumerate() {
            let ok = match i {
                8 | 13 | 18 | 23 => b == b'-',
                _ => b.is_ascii_hexdigit(),
            };
            if !ok {
                return Err(invalid("expected hex digits in groups of 8-4-4-4-12"));
            }
        }
        // 36 characters of hex digits and '-' always make a valid API key.
        ApiKey::parse(value)
            .map(Self)
            .map_err(|_| invalid("not usable as a key"))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The id in the role of an API key: what clients connect with and session ids carry.
    pub fn as_api_key(&self) -> &ApiKey {
        &self.0
    }
}

impl fmt::Display for ApplicationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An RSA private key (2048 bits or more) ready to sign RS256. `Debug` shows only its size; no
/// error built here ever contains key material.
#[derive(Clone)]
pub struct VonagePrivateKey {
    key: Arc<RsaKeyPair>,
    rng: SystemRandom,
}

impl VonagePrivateKey {
    /// Reads a PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`).
    /// A value whose line breaks are written as the two characters `\n` (as in an environment
    /// variable) is read too; see [`pem_from_env_value`].
    ///
    /// # Errors
    /// [`OpenTokError::InvalidCredentials`] when the text holds no readable unencrypted private
    /// key, the key is not RSA, is shorter than [`MIN_RSA_BITS`] or is malformed.
    pub fn from_pem(pem: &str) -> Result<Self, OpenTokError> {
        let pem = pem_from_env_value(pem);
        let der =
            PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| invalid(pem_reason(&e)))?;
        let parsed = match &der {
            PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
            PrivateKeyDer::Sec1(_) => return Err(invalid("the key is an EC key, not RSA")),
            _ => return Err(invalid("the key is not an RSA key")),
        };
        let key = parsed.map_err(|e| invalid(rejection_reason(&e.to_string())))?;
        let bits = key.public_modulus_len() * 8;
        if bits < MIN_RSA_BITS {
            return Err(OpenTokError::InvalidCredentials {
                reason: format!("the RSA key has {bits} bits; at least {MIN_RSA_BITS} are needed"),
            });
        }
        Ok(Self {
            key: Arc::new(key),
            rng: SystemRandom::new(),
        })
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        self.key.public_modulus_len() * 8
    }

    /// The public key as a DER `RSAPublicKey` (PKCS#1), what RS256 verifiers take.
    pub fn public_key_der(&self) -> &[u8] {
        self.key.public_key().as_ref()
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `message`: deterministic, so a known key and message
    /// give a known signature. AWS-LC blinds the private operation (aws-lc-rs ignores the rng).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, OpenTokError> {
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut signature)
            .map_err(|_| OpenTokError::SigningFailed)?;
        Ok(signature)
    }
}

impl fmt::Debug for VonagePrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VonagePrivateKey")
            .field("bits", &self.bits())
            .finish_non_exhaustive()
    }
}

/// Turns the two characters `\n` into line breaks, the way a PEM key is often put into one line of
/// an environment variable or a `.env` file. PEM text never contains a backslash, so a real PEM
/// passes unchanged (and unborrowed).
pub fn pem_from_env_value(value: &str) -> Cow<'_, str> {
    if value.contains("\\n") {
        Cow::Owned(value.replace("\\r\\n", "\n").replace("\\n", "\n"))
    } else {
        Cow::Borrowed(value)
    }
}

fn invalid(reason: &str) -> OpenTokError {
    OpenTokError::InvalidCredentials {
        reason: reason.to_owned(),
    }
}

/// A fixed text per PEM failure: some of the parser's errors quote the offending line, which
/// may be key material.
fn pem_reason(err: &pem::Error) -> &'static str {
    match err {
        pem::Error::NoItemsFound => {
            "no unencrypted private key in PEM form (expected BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY)"
        }
        pem::Error::MissingSectionEnd { .. } => "the PEM private key has no END line",
        pem::Error::Base64Decode(_) => "the PEM private key's body is not base64",
        _ => "the PEM private key cannot be read",
    }
}

/// aws-lc-rs's rejection names (ring's set), in words.
fn rejection_reason(name: &str) -> &'static str {
    match name {
        "WrongAlgorithm" => "the key is not an RSA key",
        "TooSmall" => "the RSA key is shorter than 2048 bits",
        "TooLarge" => "the RSA key is longer than aws-lc-rs accepts (8192 bits)",
        "InvalidEncoding" | "InvalidComponent" | "InconsistentComponents" => {
            "the RSA private key is malformed"
        }
        "VersionNotSupported" => "the private key's format version is not supported",
        _ => "the RSA private key was refused",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_ids_are_uuids() {
        let id = ApplicationId::parse("29f760f8-7ce1-46c9-ade3-f2dedee4ed5f").unwrap();
        assert_eq!(
            id.as_api_key().as_str(),
            "29f760f8-7ce1-46c9-ade3-f2dedee4ed5f"
        );
        assert!(ApplicationId::parse("29F760F8-7CE1-46C9-ADE3-F2DEDEE4ED5F").is_ok());
        for bad in [
            "",
            "123456",
            "29f760f8-7ce1-46c9-ade3-f2dedee4ed5",
            "29f760f8-7ce1-46c9-ade3-f2dedee4ed5fa",
            "29f760f87ce1-46c9-ade3-f2dedee4ed5f-",
            "29f760f8-7ce1-46c9-ade3-f2dedee4ed5g",
            "29f760f8_7ce1_46c9_ade3_f2dedee4ed5f",
        ] {
            let err = ApplicationId::parse(bad).unwrap_err();
            assert!(
                matches!(err, OpenTokError::InvalidCredentials { .. }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn env_style_line_breaks_become_real_ones() {
        assert_eq!(pem_from_env_value("a\\nb\\r\\nc"), "a\nb\nc");
        assert!(matches!(pem_from_env_value("a\nb"), Cow::Borrowed("a\nb")));
    }

    #[test]
    fn every_rejection_has_words() {
        for name in ["WrongAlgorithm", "TooSmall", "InvalidEncoding", "Other"] {
            assert!(!rejection_reason(name).is_empty());
        }
        assert_ne!(
            rejection_reason("TooSmall"),
            rejection_reason("WrongAlgorithm")
        );
    }
}
