//! A small JSON object writer for the hot responses.
//!
//! serde_json checks every byte of every string against its escape table one at a time; a T1 token
//! is about 560 base64 characters that never need escaping, and that check was a tenth of the
//! token route's instructions. Here a string is scanned in one pass that the compiler vectorises
//! and copied whole when it is clean; anything else goes through serde_json, so the output is the
//! same bytes serde_json writes (tests below compare them).

/// Builds one JSON object, fields in the order they are added.
pub struct ObjectWriter {
    buf: Vec<u8>,
    first: bool,
}

impl ObjectWriter {
    /// An empty object with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity);
        buf.push(b'{');
        Self { buf, first: true }
    }

    /// Adds `"name":"value"`; `name` must not need escaping.
    pub fn string(&mut self, name: &str, value: &str) -> &mut Self {
        self.key(name);
        push_string(&mut self.buf, value);
        self
    }

    /// Adds `"name":"…"` with the text `write` appends, which is expected to be plain ASCII (a
    /// token). Anything else still comes out as valid JSON, escaped like [`ObjectWriter::string`].
    ///
    /// # Errors
    /// `write`'s error; the writer should then be dropped.
    pub fn string_from<E>(
        &mut self,
        name: &str,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<&mut Self, E> {
        self.key(name);
        let start = self.buf.len();
        self.buf.push(b'"');
        write(&mut self.buf)?;
        let written = &self.buf[start + 1..];
        if needs_escape(written) || !written.is_ascii() {
            let text = String::from_utf8_lossy(written).into_owned();
            self.buf.truncate(start);
            push_string(&mut self.buf, &text);
        } else {
            self.buf.push(b'"');
        }
        Ok(self)
    }

    /// Adds `"name":value` for an unsigned integer.
    pub fn unsigned(&mut self, name: &str, value: u64) -> &mut Self {
        self.key(name);
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
        self
    }

    /// The finished object.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(b'}');
        self.buf
    }

    fn key(&mut self, name: &str) {
        debug_assert!(!needs_escape(name.as_bytes()));
        if !self.first {
            self.buf.push(b',');
        }
        self.first = false;
        self.buf.push(b'"');
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.extend_from_slice(b"\":");
    }
}

/// Writes `value` as a JSON string, quotes included, byte for byte as serde_json would.
pub fn push_string(out: &mut Vec<u8>, value: &str) {
    if needs_escape(value.as_bytes()) {
        // Writing to a Vec cannot fail, and a &str always serialises.
        let _ = serde_json::to_writer(&mut *out, value);
    } else {
        out.push(b'"');
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
    }
}

/// Whether serde_json would escape any byte: control characters, `"` and `\`. Non-ASCII UTF-8 is
/// written as is. A fold with no early exit, so it compiles to wide compares.
fn needs_escape(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |acc, &b| {
        acc | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn serde_string(s: &str) -> Vec<u8> {
        serde_json::to_vec(s).unwrap()
    }

    #[test]
    fn clean_and_escaped_strings_match_serde_json() {
        for s in [
            "",
            "T1==cGFydG5lcl9pZD0xMjM0NTY3OCZzaWc9",
            "quote \" backslash \\ slash /",
            "tab\tnewline\ncr\r nul\u{0} unit\u{1f} del\u{7f}",
            "héllo wörld 😀",
            "</script>",
        ] {
            let mut out = Vec::new();
            push_string(&mut out, s);
            assert_eq!(out, serde_string(s), "{s:?}");
        }
    }

    #[test]
    fn written_text_is_copied_when_plain_and_escaped_otherwise() {
        for text in ["T1==abc+/=", "", "a\"b\\c\n", "é😀"] {
            let mut w = ObjectWriter::with_capacity(0);
            w.string_from("t", |buf| {
                buf.extend_from_slice(text.as_bytes());
                Ok::<_, ()>(())
            })
            .unwrap();
            let expected = serde_json::to_vec(&serde_json::json!({ "t": text })).unwrap();
            assert_eq!(w.finish(), expected, "{text:?}");
        }
        let mut w = ObjectWriter::with_capacity(0);
        w.string_from("t", |buf| {
            buf.extend_from_slice(b"ok\xff");
            Ok::<_, ()>(())
        })
        .unwrap();
        assert_eq!(w.finish(), "{\"t\":\"ok\u{fffd}\"}".as_bytes());
        let mut w = ObjectWriter::with_capacity(0);
        assert_eq!(
            w.string_from("t", |_| Err("refused")).err(),
            Some("refused")
        );
    }

    #[test]
    fn objects_match_serde_json() {
        let mut w = ObjectWriter::with_capacity(8);
        w.string("a", "x\"y")
            .unsigned("n", u64::MAX)
            .string("b", "");
        let got: serde_json::Value = serde_json::from_slice(&w.finish()).unwrap();
        assert_eq!(
            got,
            serde_json::json!({"a": "x\"y", "n": u64::MAX, "b": ""})
        );
        assert_eq!(ObjectWriter::with_capacity(0).finish(), b"{}");
    }

    proptest! {
        #[test]
        fn any_string_is_written_as_serde_json_writes_it(s in any::<String>()) {
            let mut out = Vec::new();
            push_string(&mut out, &s);
            prop_assert_eq!(out, serde_string(&s));
        }
    }
}
