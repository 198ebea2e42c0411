//! The legacy `T1==` client token (docs/protocol.md, "T1 client tokens"): the encoder emits the Node
//! SDK's layout byte for byte; the decoder reads what Node, Python and Java emit.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;
use tiny_opentok_domain::{SessionId, TokenOptions};

use crate::{Nonce, OpenTokError};

/// The literal marker every T1 token starts with. It is not base64 padding.
pub const T1_PREFIX: &str = "T1==";

/// Bytes Node's `querystring.escape` leaves as they are: `A-Z a-z 0-9 - _ . ! ~ * ' ( )`.
/// Everything else, non-ASCII UTF-8 bytes included, becomes `%XX` with uppercase hex.
const NODE_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// Signs with a pre-keyed HMAC state (cloned per token, so the key schedule runs once per client).
/// `partner_prefix` is `partner_id=<key>&sig=`.
pub(crate) fn mint(
    mac: &Hmac<Sha1>,
    partner_prefix: &str,
    session_id: &SessionId,
    options: &TokenOptions,
    create_time: u64,
    nonce: &Nonce,
) -> String {
    let data = data_string(session_id, options, create_time, nonce);
    let mut mac = mac.clone();
    mac.update(data.as_bytes());
    let mut signature = [0u8; 40];
    // A 20-byte digest always fills 40 hex digits, so this cannot fail.
    let _ = hex::encode_to_slice(mac.finalize().into_bytes(), &mut signature);
    let signature = std::str::from_utf8(&signature).unwrap_or_default();
    let plain = [partner_prefix, signature, ":", &data].concat();

    let mut token = String::with_capacity(T1_PREFIX.len() + plain.len().div_ceil(3) * 4);
    token.push_str(T1_PREFIX);
    // The alphabet and padding of `base64`'s STANDARD (the T1 vectors pin the bytes), with SIMD.
    base64_simd::STANDARD.encode_append(plain, &mut token);
    token
}

/// The exact string a T1 token signs, in the Node SDK's layout:
///
/// `session_id=…&create_time=…&nonce=…&role=…&expire_time=…[&connection_data=…]&initial_layout_class_list=…&scope=session.connect`
///
/// Values are encoded like Node's `querystring.escape`: `A-Z a-z 0-9 - _ . ! ~ * ' ( )` stay, every
/// other UTF-8 byte becomes `%XX` (so a space is `%20`). Empty connection data is left out.
pub fn data_string(
    session_id: &SessionId,
    options: &TokenOptions,
    create_time: u64,
    nonce: &Nonce,
) -> String {
    let layout: usize = options
        .initial_layout_class_list()
        .iter()
        .map(|c| c.len() + 1)
        .sum();
    let mut out = String::with_capacity(
        160 + session_id.as_str().len() + 3 * (options.data().len() + layout),
    );
    let mut int = itoa::Buffer::new();
    out.push_str("session_id=");
    out.extend(utf8_percent_encode(session_id.as_str(), NODE_ESCAPE));
    out.push_str("&create_time=");
    out.push_str(int.format(create_time));
    out.push_str("&nonce=");
    out.push_str(nonce.as_str());
    out.push_str("&role=");
    out.push_str(options.role().as_str());
    out.push_str("&expire_time=");
    out.push_str(int.format(options.expire_time()));
    if !options.data().is_empty() {
        out.push_str("&connection_data=");
        out.extend(utf8_percent_encode(options.data(), NODE_ESCAPE));
    }
    out.push_str("&initial_layout_class_list=");
    for (i, class) in options.initial_layout_class_list().iter().enumerate() {
        if i > 0 {
            out.push_str("%20");
        }
        out.extend(utf8_percent_encode(class, NODE_ESCAPE));
    }
    out.push_str("&scope=session.connect");
    out
}

/// A T1 token taken apart: who issued it, its signature, the signed data and the decoded fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct T1Token {
    partner_id: String,
    signature: String,
    data_string: String,
    fields: Vec<(String, String)>,
}

/// Takes a T1 token apart without checking its signature (see [`T1Token::verify`]).
///
/// Accepts what every SDK emits: the standard base64 alphabet (Node, Python) or the URL-safe one
/// (Java), with or without `=` padding; any field order; `%20` or `+` for a space.
///
/// # Errors
/// [`OpenTokError::MalformedToken`] naming what is wrong.
pub fn decode(token: &str) -> Result<T1Token, OpenTokError> {
    let malformed = |reason| OpenTokError::MalformedToken { reason };
    let body = token
        .strip_prefix(T1_PREFIX)
        .ok_or(malformed("it does not start with T1=="))?;
    let standard: String = body
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    let lenient = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let plain = lenient
        .decode(standard)
        .map_err(|_| malformed("its body is not base64"))?;
    let plain = String::from_utf8(plain).map_err(|_| malformed("its body is not UTF-8 text"))?;
    // partner_id and sig sit before the first ':'; the signed data may not contain one, but split
    // on the first anyway, as the service must.
    let (head, data_string) = plain.split_once(':').ok_or(malformed(
        "it has no ':' between the signature and the data",
    ))?;

    let mut partner_id = None;
    let mut signature = None;
    for (name, value) in parse_pairs(head)? {
        match name.as_str() {
            "partner_id" => partner_id = Some(value),
            "sig" => signature = Some(value),
            _ => {}
        }
    }
    let partner_id = partner_id.ok_or(malformed("it names no partner_id"))?;
    let signature = signature.ok_or(malformed("it carries no sig"))?;
    let fields = parse_pairs(data_string)?;
    Ok(T1Token {
        partner_id,
        signature,
        data_string: data_string.to_owned(),
        fields,
    })
}

/// The `name=value` pairs of a urlencoded text: `+` is a space, `%XX` a byte, and a `%` without
/// two hex digits stays as it is, as Node's `querystring.unescape` leaves it.
fn parse_pairs(text: &str) -> Result<Vec<(String, String)>, OpenTokError> {
    // form_urlencoded replaces bytes that are not UTF-8; a token holding such a value is malformed.
    // The separators are ASCII, so the whole text decodes to UTF-8 exactly when every part does.
    if percent_decode_str(text).decode_utf8().is_err() {
        return Err(OpenTokError::MalformedToken {
            reason: "a decoded value is not UTF-8",
        });
    }
    Ok(form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect())
}

impl T1Token {
    /// The issuing API key, as the token states it.
    pub fn partner_id(&self) -> &str {
        &self.partner_id
    }

    /// The signature as carried: 40 lowercase hex digits when well formed.
    pub fn signature(&self) -> &str {
        &self.signature
    }

    /// The exact signed text.
    pub fn data_string(&self) -> &str {
        &self.data_string
    }

    /// The data fields in token order, names and values form-decoded.
    pub fn fields(&self) -> &[(String, String)] {
        &self.fields
    }

    /// The first value of field `name`, decoded.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the signature is the HMAC-SHA1 of the data string under `secret` (compared in
    /// constant time).
    pub fn verify(&self, secret: &SecretString) -> bool {
        let Ok(expected) = hex::decode(&self.signature) else {
            return false;
        };
        let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret.expose_secret().as_bytes()) else {
            return false;
        };
        mac.update(self.data_string.as_bytes());
        mac.verify_slice(&expected).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiny_opentok_domain::{Role, TokenParams};

    const SID: &str = "1_MX4xMjM0NTZ-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4";
    const NOW: u64 = 1_700_000_000;

    fn options(data: &str, classes: &[&str]) -> TokenOptions {
        let params = TokenParams {
            role: Role::Moderator,
            expire_time: Some(NOW + 60),
            data: data.to_owned(),
            initial_layout_class_list: classes.iter().map(|c| (*c).to_owned()).collect(),
        };
        TokenOptions::new(params, NOW).unwrap()
    }

    fn escaped(value: &str) -> String {
        utf8_percent_encode(value, NODE_ESCAPE).to_string()
    }

    #[test]
    fn escape_keeps_node_unreserved_set_and_percent_encodes_the_rest() {
        assert_eq!(escaped("AZaz09-_.!~*'()"), "AZaz09-_.!~*'()");
        assert_eq!(
            escaped(" /?#[]@$+,;%&=:\""),
            "%20%2F%3F%23%5B%5D%40%24%2B%2C%3B%25%26%3D%3A%22"
        );
        assert_eq!(escaped("é😀"), "%C3%A9%F0%9F%98%80");
    }

    #[test]
    fn data_string_follows_node_field_order_and_omits_empty_data() {
        let sid = SessionId::parse(SID).unwrap();
        let nonce = Nonce::new(0.25).unwrap();
        let with_data = data_string(&sid, &options("a b", &["x", "y"]), NOW, &nonce);
        assert_eq!(
            with_data,
            format!(
                "session_id={SID}&create_time=1700000000&nonce=0.25&role=moderator&expire_time=1700000060\
                 &connection_data=a%20b&initial_layout_class_list=x%20y&scope=session.connect"
            )
        );
        let without = data_string(&sid, &options("", &[]), NOW, &nonce);
        assert!(!without.contains("connection_data"));
        assert!(without.ends_with("&initial_layout_class_list=&scope=session.connect"));
    }

    #[test]
    fn pairs_decode_plus_and_percent_escapes() {
        let value = |text: &str| parse_pairs(&format!("v={text}")).map(|p| p[0].1.clone());
        assert_eq!(value("a+b%20c%3A%C3%A9").unwrap(), "a b c:é");
        assert_eq!(value("1%2B1").unwrap(), "1+1");
        for kept in ["%", "%4", "%zz", "100%"] {
            assert_eq!(value(kept).unwrap(), kept);
        }
        assert!(matches!(
            value("%FF"),
            Err(OpenTokError::MalformedToken { .. })
        ));
        assert_eq!(
            parse_pairs("a=1&b&c=x%3Dy").unwrap(),
            [("a", "1"), ("b", ""), ("c", "x=y")].map(|(n, v)| (n.to_owned(), v.to_owned()))
        );
    }

    #[test]
    fn decode_rejects_tokens_without_marker_colon_or_signature() {
        let b64 = |s: &str| {
            format!(
                "T1=={}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        for bad in [
            "T2==cGFydG5lcl9pZD0x".to_owned(),
            "T1==!!!".to_owned(),
            b64("partner_id=1&sig=ab"),
            b64("partner_id=1:role=publisher"),
            b64("sig=ab:role=publisher"),
        ] {
            assert!(
                matches!(decode(&bad), Err(OpenTokError::MalformedToken { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn verify_refuses_a_wrong_secret_and_a_non_hex_signature() {
        let mac = Hmac::<Sha1>::new_from_slice(b"right").unwrap();
        let sid = SessionId::parse(SID).unwrap();
        let nonce = Nonce::new(0.5).unwrap();
        let token = mint(
            &mac,
            "partner_id=123456&sig=",
            &sid,
            &options("", &[]),
            NOW,
            &nonce,
        );
        let decoded = decode(&token).unwrap();
        assert!(decoded.verify(&SecretString::from("right")));
        assert!(!decoded.verify(&SecretString::from("wrong")));
        let forged = T1Token {
            signature: "zz".repeat(20),
            ..decoded
        };
        assert!(!forged.verify(&SecretString::from("right")));
    }
}
