//! Log output: tracing events as plain text lines (or JSON with `LOG_FORMAT=json`) on stderr.
//!
//! The plain format reads like tracing-subscriber's default one, without colours:
//!
//! ```text
//! 2026-11-28T05:03:31.123456Z  INFO tiny_opentok_server::middleware: request method=POST path=/session/1_MX4…/access status=201 latency_us=41
//! ```
//!
//! It exists because every request writes a line (and [`crate::log_writer`] gets the lines out). tracing-subscriber's formatter put each part
//! through `core::fmt`, painted every field name with an (empty) ANSI style and formatted the date
//! from scratch; that was an eighth of the token route's instructions. Here integers are printed
//! with `itoa`, plain strings are copied and the date is formatted once per second per thread.
//!
//! Values that could break a line apart never reach it raw: a string is written bare only when it
//! is printable ASCII without spaces, quotes or backslashes, otherwise Rust-quoted (`"a b\n"`);
//! control characters in messages and other values are escaped (`\n`, `\u{1b}`).

use std::cell::Cell;
use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_log::NormalizeEvent as _;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use crate::log_writer::{BatchWriter, FlushGuard};

/// Installs the global subscriber: the `RUST_LOG` filter (default `info`), plain lines or JSON
/// (`LOG_FORMAT=json`), batched per thread on their way to stderr (see [`crate::log_writer`]).
/// Keep the guard alive: dropping it writes the lines still buffered.
pub fn init() -> FlushGuard {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v == "json");
    let (writer, guard) = BatchWriter::stderr();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    if json {
        builder.json().init();
    } else {
        builder
            .fmt_fields(PlainFields)
            .event_format(PlainFormat)
            .init();
    }
    guard
}

/// The plain line: `<UTC time> <LEVEL> [<span>{<fields>}:…] <target>: <message> <name>=<value>…`.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlainFormat;

impl<S, N> FormatEvent<S, N> for PlainFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // Records from the `log` crate (actix's own lines) carry their real target in fields.
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        write_timestamp(&mut writer, SystemTime::now())?;
        writer.write_str(level_label(*meta.level()))?;
        if let Some(scope) = ctx.event_scope() {
            let mut any = false;
            for span in scope.from_root() {
                writer.write_str(span.name())?;
                if let Some(fields) = span.extensions().get::<FormattedFields<N>>() {
                    if !fields.is_empty() {
                        writer.write_char('{')?;
                        writer.write_str(fields)?;
                        writer.write_char('}')?;
                    }
                }
                writer.write_char(':')?;
                any = true;
            }
            if any {
                writer.write_char(' ')?;
            }
        }
        writer.write_str(meta.target())?;
        writer.write_str(": ")?;
        ctx.format_fields(writer.by_ref(), event)?;
        writer.write_char('\n')
    }
}

fn level_label(level: Level) -> &'static str {
    match level {
        Level::TRACE => "TRACE ",
        Level::DEBUG => "DEBUG ",
        Level::INFO => " INFO ",
        Level::WARN => " WARN ",
        Level::ERROR => "ERROR ",
    }
}

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

/// `2026-11-28T05:03:31.123456Z ` (UTC, microseconds, then a space).
fn write_timestamp(writer: &mut impl fmt::Write, now: SystemTime) -> fmt::Result {
    thread_local! {
        // The second last formatted on this thread and its `YYYY-MM-DDTHH:MM:SS`.
        static SECOND: Cell<(u64, [u8; 19])> = const { Cell::new((u64::MAX, [0; 19])) };
    }
    let Ok(since_epoch) = now.duration_since(UNIX_EPOCH) else {
        return writer.write_str("<unknown time> ");
    };
    let secs = since_epoch.as_secs();
    let prefix = SECOND.with(|cached| {
        let (second, text) = cached.get();
        if second == secs {
            return text;
        }
        let text = date_time(secs);
        cached.set((secs, text));
        text
    });
    let mut line = [0u8; 28];
    line[..19].copy_from_slice(&prefix);
    line[19] = b'.';
    put_digits(&mut line[20..26], since_epoch.subsec_micros());
    line[26] = b'Z';
    line[27] = b' ';
    // Only ASCII digits and separators were written.
    writer.write_str(std::str::from_utf8(&line).map_err(|_| fmt::Error)?)
}

/// `YYYY-MM-DDTHH:MM:SS` for unix seconds (years past 9999 are clamped).
fn date_time(secs: u64) -> [u8; 19] {
    let days = secs / 86_400;
    let in_day = u32::try_from(secs % 86_400).unwrap_or(0);
    let (year, month, day) = civil_from_days(days);
    let mut out = *b"0000-00-00T00:00:00";
    put_digits(&mut out[0..4], year.min(9999));
    put_digits(&mut out[5..7], month);
    put_digits(&mut out[8..10], day);
    put_digits(&mut out[11..13], in_day / 3600);
    put_digits(&mut out[14..16], in_day / 60 % 60);
    put_digits(&mut out[17..19], in_day % 60);
    out
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar, counting in
/// 400-year eras that start on March 1st (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u32, u32, u32) {
    // 719,468 days from 0000-03-01 to 1970-01-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (
        u32::try_from(year).unwrap_or(u32::MAX),
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

/// Writes `n` as zero-padded decimal filling `out` (the low digits if it does not fit).
fn put_digits(out: &mut [u8], mut n: u32) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use proptest::prelude::*;
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
            .fmt_fields(PlainFields)
            .event_format(PlainFormat)
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
            [" INFO tiny_opentok_server::logging::tests: request method=POST path=/session/1_MX4x/access status=201 latency_us=41"]
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
            r#" WARN tiny_opentok_server::logging::tests: message with \u{1b}[31m escape\nand newline spaced="a b" quoted="say \"hi\"" newline="x\nINFO forged: line" empty="" display=tab\there negative=-3 flag=true"#
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
            [r#"ERROR tiny_opentok_server::logging::tests: failed error="outer: inner""#]
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
            ["DEBUG create_access{session_id=1_MX4x}:mint: tiny_opentok_server::logging::tests: minted n=2"]
        );
    }

    #[test]
    fn dates_match_known_instants() {
        let at = |secs| String::from_utf8(date_time(secs).to_vec()).unwrap();
        assert_eq!(at(0), "1970-01-01T00:00:00");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00");
        assert_eq!(at(1_700_000_000), "2023-11-14T22:13:20");
        assert_eq!(at(1_795_827_811), "2026-11-28T01:03:31");
        assert_eq!(at(4_102_444_799), "2099-12-31T23:59:59");
        assert_eq!(at(4_107_542_400), "2100-03-01T00:00:00");
    }

    #[test]
    fn the_timestamp_has_microseconds() {
        let mut out = String::new();
        let t = UNIX_EPOCH + std::time::Duration::new(1_700_000_000, 1_234_567);
        write_timestamp(&mut out, t).unwrap();
        assert_eq!(out, "2023-11-14T22:13:20.001234Z ");
        out.clear();
        write_timestamp(&mut out, UNIX_EPOCH - std::time::Duration::from_secs(1)).unwrap();
        assert_eq!(out, "<unknown time> ");
    }

    /// A slow, obviously right calendar to check the fast one against.
    fn naive_civil(mut days: u64) -> (u32, u32, u32) {
        let leap = |y: u32| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let mut year = 1970;
        loop {
            let len = if leap(year) { 366 } else { 365 };
            if days < len {
                break;
            }
            days -= len;
            year += 1;
        }
        let months = [
            31,
            if leap(year) { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        let mut month = 1;
        for len in months {
            if days < len {
                break;
            }
            days -= len;
            month += 1;
        }
        (year, month, u32::try_from(days).unwrap() + 1)
    }

    proptest! {
        #[test]
        fn the_calendar_agrees_with_day_counting(days in 0u64..(400 * 366)) {
            prop_assert_eq!(civil_from_days(days), naive_civil(days));
        }
    }
}
