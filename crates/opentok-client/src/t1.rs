//! The legacy `T1==` client token (docs/protocol.md, "T1 client tokens"): the encoder emits the Node
//! SDK's layout byte for byte; the decoder reads what Node, Python and Java emit.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;
use tiny_opentok_domain::{SessionId, TokenOptions};

use crate::{Nonce, OpenTokError};

/// The literal marker every T1 token starts with. It is not base64 padding.
pub const T1_PREFIX: &str = "T1==";

const SIG_HEX_LEN: usize = 40;
const HEX: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Signs with a pre-keyed HMAC state (cloned per token, so the key schedule runs once per client)
/// and appends the token's ASCII bytes to `out`: a server can write it straight into a response
/// body, with no intermediate string to allocate, check for UTF-8 and copy.
pub(crate) fn mint_into(
    mac: &Hmac<Sha1>,
    partner_prefix: &[u8],
    session_id: &SessionId,
    options: &TokenOptions,
    create_time: u64,
    nonce: &Nonce,
    out: &mut Vec<u8>,
) {
    // plaintext = "partner_id=<key>&sig=" <40 hex> ":" <data_string>. The signature slot has a fixed
    // width, so the data string is written in place and the hex filled in afterwards.
    let head = partner_prefix.len() + SIG_HEX_LEN + 1;
    let mut plain = Vec::with_capacity(head + data_capacity(session_id, options));
    plain.extend_from_slice(partner_prefix);
    plain.extend_from_slice(&[b'0'; SIG_HEX_LEN]);
    plain.push(b':');
    write_data_string(&mut plain, session_id, options, create_time, nonce);

    let mut mac = mac.clone();
    mac.update(&plain[head..]);
    let sig = mac.finalize().into_bytes();
    for (slot, byte) in plain[partner_prefix.len()..head - 1]
        .chunks_exact_mut(2)
        .zip(sig.iter())
    {
        slot[0] = HEX[usize::from(byte >> 4)];
        slot[1] = HEX[usize::from(byte & 0x0f)];
    }

    out.extend_from_slice(T1_PREFIX.as_bytes());
    // The alphabet and padding of `base64`'s STANDARD (the T1 vectors pin the bytes), with SIMD.
    base64_simd::STANDARD.encode_append(&plain, out);
}

/// [`mint_into`], as a string.
pub(crate) fn mint(
    mac: &Hmac<Sha1>,
    partner_prefix: &str,
    session_id: &SessionId,
    options: &TokenOptions,
    create_time: u64,
    nonce: &Nonce,
) -> String {
    let mut token = Vec::new();
    let prefix = partner_prefix.as_bytes();
    mint_into(
        mac,
        prefix,
        session_id,
        options,
        create_time,
        nonce,
        &mut token,
    );
    // Only the ASCII prefix and base64 were written.
    String::from_utf8(token).unwrap_or_default()
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
    let mut out = Vec::with_capacity(data_capacity(session_id, options));
    write_data_string(&mut out, session_id, options, create_time, nonce);
    // Only ASCII was written: escaped values, digits and fixed names.
    String::from_utf8(out).unwrap_or_default()
}

fn data_capacity(session_id: &SessionId, options: &TokenOptions) -> usize {
    let layout: usize = options
        .initial_layout_class_list()
        .iter()
        .map(|c| c.len() + 1)
        .sum();
    160 + session_id.as_str().len() + 3 * (options.data().len() + layout)
}

fn write_data_string(
    out: &mut Vec<u8>,
    session_id: &SessionId,
    options: &TokenOptions,
    create_time: u64,
    nonce: &Nonce,
) {
    out.extend_from_slice(b"session_id=");
    escape_into(out, session_id.as_str());
    out.extend_from_slice(b"&create_time=");
    push_u64(out, create_time);
    out.extend_from_slice(b"&nonce=");
    out.extend_from_slice(nonce.as_bytes());
    out.extend_from_slice(b"&role=");
    out.extend_from_slice(options.role().as_str().as_bytes());
    out.extend_from_slice(b"&expire_time=");
    push_u64(out, options.expire_time());
    if !options.data().is_empty() {
        out.extend_from_slice(b"&connection_data=");
        escape_into(out, options.data());
    }
    out.extend_from_slice(b"&initial_layout_class_list=");
    for (i, class) in options.initial_layout_class_list().iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b"%20");
        }
        escape_into(out, class);
    }
    out.extend_from_slice(b"&scope=session.connect");
}

/// Node's `querystring.escape` set of bytes left as they are, as a table: every token escapes the
/// session id, so this check runs on about a hundred bytes per token.
const UNRESERVED: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
            );
        i += 1;
    }
    table
};

fn is_unreserved(b: u8) -> bool {
    UNRESERVED[usize::from(b)]
}

fn escape_into(out: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    if bytes
        .iter()
        .fold(true, |clean, &b| clean & is_unreserved(b))
    {
        out.extend_from_slice(bytes);
        return;
    }
    for &b in bytes {
        if is_unreserved(b) {
            out.push(b);
        } else {
            out.extend_from_slice(&[
                b'%',
                HEX_UPPER[usize::from(b >> 4)],
                HEX_UPPER[usize::from(b & 0x0f)],
            ]);
        }
    }
}

pub(crate) fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
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

fn parse_pairs(text: &str) -> Result<Vec<(String, String)>, OpenTokError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split('&')
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((form_decode(name)?, form_decode(value)?))
        })
        .collect()
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte, the result UTF-8.
fn form_decode(text: &str) -> Result<String, OpenTokError> {
    let malformed = |reason| OpenTokError::MalformedToken { reason };
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .ok_or(malformed("a '%' escape is cut short"))?;
                let hi = hex_value(hex[0]).ok_or(malformed("a '%' escape is not hex"))?;
                let lo = hex_value(hex[1]).ok_or(malformed("a '%' escape is not hex"))?;
                out.push(hi << 4 | lo);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| malformed("a decoded value is not UTF-8"))
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
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
        let mut out = Vec::new();
        escape_into(&mut out, value);
        String::from_utf8(out).unwrap()
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
    fn push_u64_writes_decimal_digits() {
        for n in [0, 7, 10, 1_700_000_000, u64::MAX] {
            let mut out = Vec::new();
            push_u64(&mut out, n);
            assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
        }
    }

    #[test]
    fn form_decode_reads_plus_and_percent_escapes() {
        assert_eq!(form_decode("a+b%20c%3A%C3%A9").unwrap(), "a b c:é");
        assert!(form_decode("%").is_err());
        assert!(form_decode("%4").is_err());
        assert!(form_decode("%zz").is_err());
        assert!(form_decode("%FF").is_err());
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
        let mut token = Vec::new();
        mint_into(
            &mac,
            b"partner_id=123456&sig=",
            &sid,
            &options("", &[]),
            NOW,
            &nonce,
            &mut token,
        );
        let decoded = decode(std::str::from_utf8(&token).unwrap()).unwrap();
        assert!(decoded.verify(&SecretString::from("right")));
        assert!(!decoded.verify(&SecretString::from("wrong")));
        let forged = T1Token {
            signature: "zz".repeat(20),
            ..decoded
        };
        assert!(!forged.verify(&SecretString::from("right")));
    }
}
