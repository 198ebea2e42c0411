use std::fmt;

/// The random part of a client token: a float in `[0, 1)`, printed the way JavaScript prints a
/// number, so tokens look exactly like the Node SDK's (`Math.random()`, e.g. `0.5488135039273248`).
///
/// [`Nonce::random`] draws 53 random bits, so two tokens minted in the same second differ.
/// [`Nonce::new`] pins the value, which makes minting a pure function (known-answer tests).
#[derive(Clone, Copy)]
pub struct Nonce {
    value: f64,
    // Formatted once, so minting only copies bytes. The longest text a value in [0, 1) can take is
    // 24 bytes ("0.000001" followed by 16 more digits).
    text: [u8; 32],
    len: u8,
}

impl Nonce {
    /// A nonce with 53 bits of entropy from the thread-local CSPRNG.
    pub fn random() -> Self {
        // The top 53 bits of a u64 scaled by 2^-53 give every representable multiple of 2^-53 in
        // [0, 1), exactly as V8's Math.random() does.
        let bits = rand::random::<u64>() >> 11;
        let value = bits as f64 / (1u64 << 53) as f64;
        // A value in [0, 1) always fits the buffer, so this never falls back.
        Self::new(value).unwrap_or(Self::ZERO)
    }

    const ZERO: Nonce = Nonce {
        value: 0.0,
        text: *b"0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
        len: 1,
    };

    /// A fixed nonce; `None` unless `0 <= value < 1`.
    pub fn new(value: f64) -> Option<Self> {
        if !(0.0..1.0).contains(&value) {
            return None;
        }
        // -0.0 would print as "-0"; JavaScript prints both zeros as "0".
        let value = if value == 0.0 { 0.0 } else { value };
        let mut buf = StackText {
            text: [0; 32],
            len: 0,
        };
        if value >= RYU_DECIMAL_FROM {
            // Every token prints one of these; ryu is several times cheaper than core::fmt's
            // shortest-float path and prints the same digits in the same decimal form here.
            fmt::Write::write_str(&mut buf, ryu::Buffer::new().format_finite(value)).ok()?;
        } else {
            Self::write_with_core_fmt(&mut buf, value).ok()?;
        }
        Some(Self {
            value,
            text: buf.text,
            len: buf.len,
        })
    }

    /// JavaScript's `Number::toString` (ECMA-262 7.1.12.1) for `0 <= value < 1`: decimal from 1e-6
    /// up, exponent notation below; both print the shortest digits that round-trip.
    fn write_with_core_fmt(buf: &mut StackText, value: f64) -> fmt::Result {
        if value == 0.0 || value >= 1e-6 {
            fmt::write(buf, format_args!("{value}"))
        } else {
            fmt::write(buf, format_args!("{value:e}"))
        }
    }

    /// The value.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// The text that goes into tokens, e.g. `0.5488135039273248`.
    pub fn as_str(&self) -> &str {
        // Only ASCII from the float formatter was written into the buffer.
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

/// From here up ryu writes plain decimals (`0.00001234`); below it switches to exponents earlier
/// than JavaScript does (`1.234e-6` where JavaScript prints `0.000001234`).
const RYU_DECIMAL_FROM: f64 = 1e-5;

struct StackText {
    text: [u8; 32],
    len: u8,
}

impl fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let start = usize::from(self.len);
        let end = start + s.len();
        let slot = self.text.get_mut(start..end).ok_or(fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = u8::try_from(end).map_err(|_| fmt::Error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn prints_like_javascript_number_to_string() {
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

    fn core_fmt_text(value: f64) -> String {
        let mut buf = StackText {
            text: [0; 32],
            len: 0,
        };
        Nonce::write_with_core_fmt(&mut buf, value).unwrap();
        String::from_utf8(buf.text[..usize::from(buf.len)].to_vec()).unwrap()
    }

    #[test]
    fn ryu_and_core_fmt_agree_around_where_ryu_takes_over() {
        for value in [
            1e-5,
            f64::from_bits(1e-5f64.to_bits() + 1),
            1.234e-5,
            9.99e-5,
            1e-4,
            0.001,
            0.1,
            0.5,
            1.0 - f64::EPSILON,
        ] {
            assert_eq!(
                Nonce::new(value).unwrap().as_str(),
                core_fmt_text(value),
                "{value:e}"
            );
        }
    }

    proptest! {
        #[test]
        fn ryu_prints_what_core_fmt_prints(bits in 0u64..(1u64 << 53)) {
            let value = bits as f64 / (1u64 << 53) as f64;
            let nonce = Nonce::new(value).unwrap();
            prop_assert_eq!(nonce.as_str(), core_fmt_text(value));
        }

        #[test]
        fn ryu_prints_what_core_fmt_prints_for_small_values(value in 1e-5f64..1e-3) {
            let nonce = Nonce::new(value).unwrap();
            prop_assert_eq!(nonce.as_str(), core_fmt_text(value));
        }

        #[test]
        fn text_parses_back_to_the_same_value(bits in 0u64..(1u64 << 53)) {
            let value = bits as f64 / (1u64 << 53) as f64;
            let nonce = Nonce::new(value).unwrap();
            prop_assert_eq!(nonce.as_str().parse::<f64>().unwrap(), value);
        }
    }
}
