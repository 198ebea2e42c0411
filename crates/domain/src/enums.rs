use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{shown, DomainError};

/// Declares a closed set whose wire spelling is written out by hand, with `as_str`, `FromStr`
/// (exact spelling only), `Display` and serde that use that spelling.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident, param = $param:literal, allowed = $allowed:literal,
        { $($(#[$vmeta:meta])* $variant:ident => $wire:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }

            /// Parses the exact wire spelling; the error names the parameter.
            pub fn parse(value: &str) -> Result<Self, DomainError> {
                match value {
                    $($wire => Ok($name::$variant),)+
                    other => Err(DomainError::InvalidChoice {
                        param: $param,
                        allowed: $allowed,
                        value: shown(other),
                    }),
                }
            }
        }

        // Wire spellings for OpenAPI documents, from the same list as the parser.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($wire),+]))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        impl FromStr for $name {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

wire_enum! {
    /// How media flows: through OpenTok's Media Router, or peer to peer. The original server's default
    /// is routed.
    MediaMode, param = "mediaMode", allowed = "'routed', 'relayed'", {
        /// Through the Media Router (`p2p.preference=disabled` on the wire).
        #[default]
        Routed => "routed",
        /// Peer to peer where possible (`p2p.preference=enabled` on the wire).
        Relayed => "relayed",
    }
}

wire_enum! {
    /// Whether OpenTok archives the session automatically.
    ArchiveMode, param = "archiveMode", allowed = "'manual', 'always'", {
        /// Archives start only when asked for.
        #[default]
        Manual => "manual",
        /// Every session is archived; needs a routed session.
        Always => "always",
    }
}

wire_enum! {
    /// What a client holding the token may do.
    Role, param = "role", allowed = "'publisher', 'subscriber', 'moderator', 'publisheronly'", {
        /// Publish and subscribe (the default).
        #[default]
        Publisher => "publisher",
        /// Subscribe only.
        Subscriber => "subscriber",
        /// Publish, subscribe and moderate.
        Moderator => "moderator",
        /// Publish only.
        PublisherOnly => "publisheronly",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_original_server() {
        assert_eq!(MediaMode::default(), MediaMode::Routed);
        assert_eq!(ArchiveMode::default(), ArchiveMode::Manual);
        assert_eq!(Role::default(), Role::Publisher);
    }

    #[test]
    fn parses_only_the_exact_lowercase_words() {
        assert_eq!(Role::parse("publisheronly"), Ok(Role::PublisherOnly));
        assert_eq!(MediaMode::parse("relayed"), Ok(MediaMode::Relayed));
        for bad in ["Publisher", "publisher ", "", "publisher_only", "PUBLISHER"] {
            let err = Role::parse(bad).unwrap_err();
            assert!(err.to_string().starts_with("role must be one of"), "{err}");
        }
        assert!(ArchiveMode::parse("Always").is_err());
    }

    #[test]
    fn wire_spelling_round_trips_through_serde() {
        for role in Role::ALL {
            let json = serde_json::to_string(role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), *role);
        }
        let err = serde_json::from_str::<MediaMode>("\"p2p\"").unwrap_err();
        assert!(
            err.to_string().contains("mediaMode must be one of"),
            "{err}"
        );
    }

    #[test]
    fn error_lists_allowed_values() {
        let err = MediaMode::parse("x").unwrap_err().to_string();
        assert_eq!(
            err,
            "mediaMode must be one of 'routed', 'relayed', got \"x\""
        );
    }
}
