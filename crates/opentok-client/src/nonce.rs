use std::fmt;

/// The random part of a client token: a float in `[0, 1)`, printed the way JavaScript prints a
/// number, so tokens look exactly like the Node SDK's (`Math.random()`, e.g. `0.5488135039273248`).
///
/// [`Nonce::random`] draws 53 random bits, so two tokens minted in the same second differ.
/// [`Nonce::new`] pins the value, which makes minting a pure function (known-answer tests).
#[derive(Clone, Copy)]
pub struct Nonce {
    value: f64,
    // Printed once, so minting only copies bytes; ryu-js writes at most 25.
    text: [u8; 25],
    len: u8,
}

impl Nonce {
    /// A nonce with 53 bits of entropy from the thread-local CSPRNG.
    pub fn random() -> Self {
        // The top 53 bits of a u64 scaled by 2^-53 give every representable multiple of 2^-53 in
        // [0, 1), exactly as V8's Math.random() does.
        let bits = rand::random::<u64>() >> 11;
        let value = bits as f64 / (1u64 << 53) as f64;
        Self::new(value).unwrap_or(Self::ZERO)
    }

    const ZERO: Nonce = Nonce {
        value: 0.0,
        text: *b"0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
        len: 1,
    };

    /// A fixed nonce; `None` unless `0 <= value < 1`.
    pub fn new(value: f64) -> Option<Self> {
        if !(0.0..1.0).contains(&value) {
            return None;
        }
        // ryu-js implements ECMAScript's Number::toString (shortest round-trip digits, decimal
        // from 1e-6 up, exponent below, "0" for both zeros), which is what Node prints.
        let mut buffer = ryu_js::Buffer::new();
        let printed = buffer.format_finite(value).as_bytes();
        let mut text = [0; 25];
        text.get_mut(..printed.len())?.copy_from_slice(printed);
        Some(Self {
            value,
            text,
            len: u8::try_from(printed.len()).ok()?,
        })
    }

    /// The value.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// The text that goes into tokens, e.g. `0.5488135039273248`.
    pub fn as_str(&self) -> &str {
        // Only ASCII from the number printer was written into the buffer.
        std::str::from_utf8(&self.text[..usize::from(self.len)]).unwrap_or("0")
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.text[..usize::from(self.len)]
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nonce({})", self.as_str())
    }
}

impl fmt::Display for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for Nonce {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn prints_like_javascript_number_to_string() {
        // Expected texts are what Node 20's Number#toString prints.
        let cases = [
            (0.5488135039273248, "0.5488135039273248"),
            (0.925596638292661, "0.925596638292661"),
            (0.25, "0.25"),
            (0.0, "0"),
            (-0.0, "0"),
            (0.000001, "0.000001"),
            (0.0000012345, "0.0000012345"),
            (0.00000099, "9.9e-7"),
            (1.1102230246251565e-16, "1.1102230246251565e-16"),
            (5e-324, "5e-324"),
            (1e-7, "1e-7"),
            (0.00001234, "0.00001234"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1.0 - f64::EPSILON / 2.0, "0.9999999999999999"),
        ];
        for (value, text) in cases {
            assert_eq!(Nonce::new(value).unwrap().as_str(), text, "{value:e}");
        }
    }

    #[test]
    fn refuses_values_outside_zero_to_one() {
        for bad in [1.0, -0.1, f64::NAN, f64::INFINITY, 2.5] {
            assert!(Nonce::new(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn random_nonces_differ_and_stay_below_one() {
        let a = Nonce::random();
        let b = Nonce::random();
        assert_ne!(a, b);
        assert!((0.0..1.0).contains(&a.value()));
    }

    proptest! {
        #[test]
        fn text_parses_back_to_the_same_value(bits in 0u64..(1u64 << 53)) {
            let value = bits as f64 / (1u64 << 53) as f64;
            let nonce = Nonce::new(value).unwrap();
            prop_assert_eq!(nonce.as_str().parse::<f64>().unwrap(), value);
        }
    }
}
