//! Logging: tracing events as plain lines (or JSON with `LOG_FORMAT=json`) on stderr, batched per
//! thread by [`writer`].

pub mod format;
pub mod writer;

use std::cell::RefCell;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

use self::writer::{BatchWriter, FlushGuard};

/// Installs the global subscriber: the `RUST_LOG` filter (default `info`), plain lines or JSON
/// (`LOG_FORMAT=json`), batched per thread on their way to stderr. Keep the guard alive: dropping
/// it writes the lines still buffered.
pub fn init() -> FlushGuard {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v == "json");
    let (writer, guard) = BatchWriter::stderr();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_timer(UtcMicros);
    if json {
        builder.json().init();
    } else {
        builder
            .with_ansi(false)
            .fmt_fields(format::PlainFields)
            .init();
    }
    guard
}

/// `2026-11-28T05:03:31.123456Z`: UTC with microseconds; the part up to the second is formatted
/// once a second per thread, since every request logs a line.
#[derive(Debug, Clone, Copy, Default)]
pub struct UtcMicros;

const SECOND: &[FormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");

impl UtcMicros {
    fn write(w: &mut dyn fmt::Write, now: SystemTime) -> fmt::Result {
        thread_local! {
            static LAST: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
        }
        let Ok(since_epoch) = now.duration_since(UNIX_EPOCH) else {
            return w.write_str("<unknown time>");
        };
        let secs = since_epoch.as_secs();
        LAST.with_borrow_mut(|(second, text)| {
            if *second != secs {
                let at = i64::try_from(secs)
                    .ok()
                    .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok());
                *text = at
                    .and_then(|at| at.format(SECOND).ok())
                    .unwrap_or_else(|| "<unknown time>".to_owned());
                *second = secs;
            }
            // 1_000_000 + µs prints as "1" and six zero-padded digits: itoa, not core::fmt's padding.
            let micros = 1_000_000 + since_epoch.subsec_micros();
            w.write_str(text)?;
            w.write_char('.')?;
            w.write_str(&itoa::Buffer::new().format(micros)[1..])?;
            w.write_char('Z')
        })
    }
}

impl FormatTime for UtcMicros {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        Self::write(w, SystemTime::now())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(secs: u64, nanos: u32) -> String {
        let mut out = String::new();
        UtcMicros::write(&mut out, UNIX_EPOCH + Duration::new(secs, nanos)).unwrap();
        out
    }

    #[test]
    fn timestamps_are_utc_with_microseconds() {
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(at(951_782_400, 999_999_999), "2000-02-29T00:00:00.999999Z");
        assert_eq!(at(1_700_000_000, 1_234_567), "2023-11-14T22:13:20.001234Z");
        // The same second again comes from the cache, with its own microseconds.
        assert_eq!(at(1_700_000_000, 7_000), "2023-11-14T22:13:20.000007Z");
        assert_eq!(at(4_107_542_400, 0), "2100-03-01T00:00:00.000000Z");
        let mut out = String::new();
        UtcMicros::write(&mut out, UNIX_EPOCH - Duration::from_secs(1)).unwrap();
        assert_eq!(out, "<unknown time>");
    }
}
