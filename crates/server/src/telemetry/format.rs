//! The fields of a plain log line (tracing-subscriber's full format, no colours, writes the rest):
//! `2026-11-28T05:03:31.123456Z  INFO tiny_opentok_server::middleware: request method=POST
//! path=/session/1_MX4…/access status=201 latency_us=41`. A string is written bare only when it is
//! printable ASCII without spaces, quotes or backslashes, otherwise Rust-quoted (`"a b\n"`), and
//! control characters in messages are escaped, so no value can forge a line.
//!
//! Why not tracing-subscriber's own fields formatter: with it (in the compact format) the token
//! route ran 5.3k more instructions per request (69.6k against 64.3k, `bench/callgrind.sh`), about
//! 1 µs at that route's 0.2 ns per instruction; alone, a line takes 0.46-0.48 µs with these fields
//! against 0.79 µs (`cargo bench -p tiny-opentok-server --bench log_line`).

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::FormatFields;

/// The fields of events and spans: the message first as it is, then ` name=value` pairs.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlainFields;

impl<'w> FormatFields<'w> for PlainFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut visitor = PlainVisitor {
            writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct PlainVisitor<'w> {
    writer: Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl PlainVisitor<'_> {
    /// Writes the separator and `name=` (nothing for the message); `None` skips the field.
    fn start(&mut self, field: &Field) -> Option<bool> {
        let name = field.name();
        // tracing-log's copies of a record's metadata, already used for the target.
        if self.result.is_err() || name.starts_with("log.") {
            return None;
        }
        let is_message = name == "message";
        self.result = self.separator_and_name(name, is_message);
        self.first = false;
        self.result.is_ok().then_some(is_message)
    }

    fn separator_and_name(&mut self, name: &str, is_message: bool) -> fmt::Result {
        if !self.first {
            self.writer.write_char(' ')?;
        }
        if !is_message {
            self.writer
                .write_str(name.strip_prefix("r#").unwrap_or(name))?;
            self.writer.write_char('=')?;
        }
        Ok(())
    }
}

impl Visit for PlainVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        let Some(is_message) = self.start(field) else {
            return;
        };
        self.result = if is_message {
            Escaped(&mut self.writer).write_str(value)
        } else if is_bare(value) {
            self.writer.write_str(value)
        } else {
            write!(self.writer, "{value:?}")
        };
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.start(field).is_some() {
            self.result = self.writer.write_str(itoa::Buffer::new().format(value));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.start(field).is_some() {
            self.result = self.writer.write_str(itoa::Buffer::new().format(value));
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.start(field).is_some() {
            self.result = self.writer.write_str(if value { "true" } else { "false" });
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if self.start(field).is_some() {
            // The whole chain, quoted: "outer: cause: root cause".
            let mut chain = value.to_string();
            let mut source = value.source();
            while let Some(cause) = source {
                let _ = write!(chain, ": {cause}");
                source = cause.source();
            }
            self.result = write!(self.writer, "{chain:?}");
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.start(field).is_some() {
            self.result = write!(Escaped(&mut self.writer), "{value:?}");
        }
    }
}

/// Printable ASCII other than space, `"` and `\`: safe to write without quotes.
fn is_bare(value: &str) -> bool {
    // A fold without early exit compiles to wide compares; the path of every request goes through.
    !value.is_empty()
        && value.bytes().fold(true, |ok, b| {
            ok & (b > b' ') & (b < 0x7f) & (b != b'"') & (b != b'\\')
        })
}

/// Passes text through, escaping control characters so that no value can start a new line or
/// send terminal escapes.
struct Escaped<'a, W>(&'a mut W);

impl<W: fmt::Write> fmt::Write for Escaped<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if !s.chars().any(char::is_control) {
            return self.0.write_str(s);
        }
        for c in s.chars() {
            if c.is_control() {
                write!(self.0, "{}", c.escape_debug())?;
            } else {
                self.0.write_char(c)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing::Level;

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Capture {
        type Writer = Capture;
        fn make_writer(&'a self) -> Capture {
            self.clone()
        }
    }

    /// The lines `emit` logs through the plain format at `level`, timestamps cut off.
    fn lines(level: Level, emit: impl FnOnce()) -> Vec<String> {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(capture.clone())
            .with_ansi(false)
            .with_timer(crate::telemetry::UtcMicros)
            .fmt_fields(PlainFields)
            .finish();
        tracing::subscriber::with_default(subscriber, emit);
        let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| {
                let (time, rest) = line.split_at(28);
                assert!(is_timestamp(time), "{line}");
                rest.to_owned()
            })
            .collect()
    }

    fn is_timestamp(t: &str) -> bool {
        let b = t.as_bytes();
        b.len() == 28
            && t.is_char_boundary(28)
            && b.iter().enumerate().all(|(i, &c)| match i {
                4 | 7 => c == b'-',
                10 => c == b'T',
                13 | 16 => c == b':',
                19 => c == b'.',
                26 => c == b'Z',
                27 => c == b' ',
                _ => c.is_ascii_digit(),
            })
    }

    #[test]
    fn the_request_line_reads_like_tracing_default_format() {
        let got = lines(Level::INFO, || {
            tracing::info!(
                method = "POST",
                path = "/session/1_MX4x/access",
                status = 201u16,
                latency_us = 41u64,
                "request"
            );
        });
        assert_eq!(
            got,
            [" INFO tiny_opentok_server::telemetry::format::tests: request method=POST path=/session/1_MX4x/access status=201 latency_us=41"]
        );
    }

    #[test]
    fn values_that_could_break_a_line_are_quoted_or_escaped() {
        let got = lines(Level::INFO, || {
            tracing::warn!(
                spaced = "a b",
                quoted = "say \"hi\"",
                newline = "x\nINFO forged: line",
                empty = "",
                display = %"tab\there",
                negative = -3i64,
                flag = true,
                "message with \u{1b}[31m escape\nand newline"
            );
        });
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(
            got[0],
            r#" WARN tiny_opentok_server::telemetry::format::tests: message with \u{1b}[31m escape\nand newline spaced="a b" quoted="say \"hi\"" newline="x\nINFO forged: line" empty="" display=tab\there negative=-3 flag=true"#
        );
    }

    #[test]
    fn errors_are_written_with_their_causes() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let err = Outer(std::io::Error::other("inner"));
        let got = lines(Level::INFO, || {
            tracing::error!(error = &err as &(dyn std::error::Error + 'static), "failed");
        });
        assert_eq!(
            got,
            [r#"ERROR tiny_opentok_server::telemetry::format::tests: failed error="outer: inner""#]
        );
    }

    #[test]
    fn spans_with_their_fields_prefix_the_line() {
        let got = lines(Level::DEBUG, || {
            let outer = tracing::debug_span!("create_access", session_id = "1_MX4x");
            let _outer = outer.enter();
            let inner = tracing::debug_span!("mint");
            let _inner = inner.enter();
            tracing::debug!(n = 2u64, "minted");
        });
        assert_eq!(
            got,
            ["DEBUG create_access{session_id=1_MX4x}:mint: tiny_opentok_server::telemetry::format::tests: minted n=2"]
        );
    }
}
