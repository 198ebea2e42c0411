use serde::Serialize;

use crate::enums::Role;
use crate::error::{shown, DomainError};

/// Token lifetime when the caller gives no expiry: 24 hours, as in the original server and every SDK.
pub const DEFAULT_TOKEN_TTL_SECS: u64 = 86_400;
/// The furthest expiry OpenTok documents: 30 days.
pub const MAX_TOKEN_TTL_SECS: u64 = 2_592_000;
/// The documented connection-data limit, in characters.
pub const DATA_MAX_CHARS: usize = 1000;
/// The limit on the space-joined layout class list, in characters (the Python SDK's).
pub const LAYOUT_MAX_CHARS: usize = 1000;

/// What a caller asks a token for, before validation. Absent values take the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenParams {
    /// The role; publisher by default.
    pub role: Role,
    /// Expiry in unix seconds; `now + 24 h` when absent.
    pub expire_time: Option<u64>,
    /// Connection data handed to every other client; empty by default.
    pub data: String,
    /// Layout classes for the client's streams.
    pub initial_layout_class_list: Vec<String>,
}

/// Validated token options: the expiry is resolved and every limit holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenOptions {
    role: Role,
    expire_time: u64,
    data: String,
    initial_layout_class_list: Vec<String>,
}

impl TokenOptions {
    /// Resolves defaults against `now` (unix seconds) and checks the rules in docs/protocol.md:
    /// `now < expire ≤ now + 30 days`, data at most 1000 characters, layout classes non-empty
    /// without white space and at most 1000 characters joined.
    ///
    /// # Errors
    /// The first rule broken, naming the parameter.
    pub fn new(params: TokenParams, now: u64) -> Result<Self, DomainError> {
        let expire_time = params
            .expire_time
            .unwrap_or_else(|| now.saturating_add(DEFAULT_TOKEN_TTL_SECS));
        if expire_time <= now {
            return Err(DomainError::ExpiryNotInFuture { expire_time, now });
        }
        let max = now.saturating_add(MAX_TOKEN_TTL_SECS);
        if expire_time > max {
            return Err(DomainError::ExpiryTooFar { expire_time, max });
        }
        let len = params.data.chars().count();
        if len > DATA_MAX_CHARS {
            return Err(DomainError::DataTooLong {
                len,
                max: DATA_MAX_CHARS,
            });
        }
        if let Some(bad) = params
            .initial_layout_class_list
            .iter()
            .find(|c| c.is_empty() || c.chars().any(char::is_whitespace))
        {
            return Err(DomainError::InvalidLayoutClass { value: shown(bad) });
        }
        let classes = &params.initial_layout_class_list;
        let joined_len = classes.iter().map(|c| c.chars().count()).sum::<usize>()
            + classes.len().saturating_sub(1);
        if joined_len > LAYOUT_MAX_CHARS {
            return Err(DomainError::LayoutTooLong {
                len: joined_len,
                max: LAYOUT_MAX_CHARS,
            });
        }
        Ok(Self {
            role: params.role,
            expire_time,
            data: params.data,
            initial_layout_class_list: params.initial_layout_class_list,
        })
    }

    /// The role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The resolved expiry (unix seconds).
    pub fn expire_time(&self) -> u64 {
        self.expire_time
    }

    /// The connection data (possibly empty).
    pub fn data(&self) -> &str {
        &self.data
    }

    /// The layout classes.
    pub fn initial_layout_class_list(&self) -> &[String] {
        &self.initial_layout_class_list
    }

    /// The layout classes joined with single spaces, as tokens carry them.
    pub fn joined_layout_class_list(&self) -> String {
        self.initial_layout_class_list.join(" ")
    }
}

/// Splits a space-separated class list (the form urlencoded clients send) into classes.
pub fn parse_layout_class_list(value: &str) -> Vec<String> {
    value.split_whitespace().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: u64 = 1_700_000_000;

    fn params() -> TokenParams {
        TokenParams::default()
    }

    #[test]
    fn defaults_to_publisher_for_a_day_with_no_data() {
        let t = TokenOptions::new(params(), NOW).unwrap();
        assert_eq!(t.role(), Role::Publisher);
        assert_eq!(t.expire_time(), NOW + 86_400);
        assert_eq!(t.data(), "");
        assert!(t.initial_layout_class_list().is_empty());
        assert_eq!(t.joined_layout_class_list(), "");
    }

    #[test]
    fn rejects_expiry_equal_to_now_and_in_the_past() {
        for expire in [NOW, NOW - 1, 0] {
            let p = TokenParams {
                expire_time: Some(expire),
                ..params()
            };
            let err = TokenOptions::new(p, NOW).unwrap_err();
            assert_eq!(
                err,
                DomainError::ExpiryNotInFuture {
                    expire_time: expire,
                    now: NOW
                }
            );
            assert!(err
                .to_string()
                .starts_with("expiresAt must be in the future"));
        }
        let p = TokenParams {
            expire_time: Some(NOW + 1),
            ..params()
        };
        assert_eq!(TokenOptions::new(p, NOW).unwrap().expire_time(), NOW + 1);
    }

    #[test]
    fn accepts_exactly_thirty_days_and_rejects_one_second_more() {
        let at = |e| TokenParams {
            expire_time: Some(e),
            ..params()
        };
        assert!(TokenOptions::new(at(NOW + 2_592_000), NOW).is_ok());
        let err = TokenOptions::new(at(NOW + 2_592_001), NOW).unwrap_err();
        assert!(matches!(err, DomainError::ExpiryTooFar { .. }));
        assert!(err.to_string().contains("at most 30 days"));
        assert!(TokenOptions::new(at(u64::MAX), NOW).is_err());
        // No overflow near the end of time.
        assert!(TokenOptions::new(at(u64::MAX), u64::MAX - 5).is_ok());
    }

    #[test]
    fn data_limit_is_1000_characters_not_bytes() {
        let with = |d: String| TokenParams {
            data: d,
            ..params()
        };
        assert!(TokenOptions::new(with("a".repeat(1000)), NOW).is_ok());
        // 1000 two-byte characters are 2000 bytes and still allowed.
        assert!(TokenOptions::new(with("é".repeat(1000)), NOW).is_ok());
        let err = TokenOptions::new(with("a".repeat(1001)), NOW).unwrap_err();
        assert_eq!(
            err,
            DomainError::DataTooLong {
                len: 1001,
                max: 1000
            }
        );
        assert_eq!(
            err.to_string(),
            "data must be at most 1000 characters, got 1001"
        );
    }

    #[test]
    fn layout_classes_are_checked_and_joined() {
        let with = |c: Vec<&str>| TokenParams {
            initial_layout_class_list: c.into_iter().map(String::from).collect(),
            ..params()
        };
        let t = TokenOptions::new(with(vec!["focus", "inactive"]), NOW).unwrap();
        assert_eq!(t.joined_layout_class_list(), "focus inactive");
        for bad in [vec![""], vec!["a b"], vec!["ok", "tab\there"]] {
            let err = TokenOptions::new(with(bad), NOW).unwrap_err();
            assert!(matches!(err, DomainError::InvalidLayoutClass { .. }));
        }
        // 500 + 1 + 499 = 1000 characters joined: allowed; one more is not.
        let a = "a".repeat(500);
        let b = "b".repeat(499);
        assert!(TokenOptions::new(with(vec![&a, &b]), NOW).is_ok());
        let b = "b".repeat(500);
        let err = TokenOptions::new(with(vec![&a, &b]), NOW).unwrap_err();
        assert_eq!(
            err,
            DomainError::LayoutTooLong {
                len: 1001,
                max: 1000
            }
        );
    }

    #[test]
    fn parses_space_separated_class_lists() {
        assert_eq!(
            parse_layout_class_list(" focus  inactive "),
            vec!["focus".to_owned(), "inactive".to_owned()]
        );
        assert!(parse_layout_class_list("   ").is_empty());
    }

    proptest! {
        #[test]
        fn valid_expiries_are_kept_exactly(offset in 1u64..=2_592_000) {
            let p = TokenParams { expire_time: Some(NOW + offset), ..TokenParams::default() };
            prop_assert_eq!(TokenOptions::new(p, NOW).unwrap().expire_time(), NOW + offset);
        }

        #[test]
        fn data_within_limit_is_kept_verbatim(data in ".{0,1000}") {
            let p = TokenParams { data: data.clone(), ..TokenParams::default() };
            let t = TokenOptions::new(p, NOW).unwrap();
            prop_assert_eq!(t.data(), data.as_str());
        }

        #[test]
        fn class_lists_round_trip_through_the_joined_form(classes in prop::collection::vec("[A-Za-z0-9_-]{1,20}", 0..10)) {
            let p = TokenParams { initial_layout_class_list: classes.clone(), ..TokenParams::default() };
            let t = TokenOptions::new(p, NOW).unwrap();
            prop_assert_eq!(parse_layout_class_list(&t.joined_layout_class_list()), classes);
        }
    }
}
