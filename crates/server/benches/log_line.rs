//! The request log line, as every request writes it: tracing-subscriber's format with our plain
//! fields against its compact format (no ANSI and the same timer in both), into a sink, so only
//! the formatting is timed.
//!
//! `cargo bench -p tiny-opentok-server --bench log_line -- --warm-up-time 2 --measurement-time 5`

// criterion_group! expands to an undocumented `pub fn`.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use tiny_opentok_server::telemetry::format::PlainFields;
use tiny_opentok_server::telemetry::UtcMicros;

fn request_line() {
    tracing::info!(
        method = "POST",
        path =
            "/session/1_MX4xMjM0NTZ-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4/access",
        status = 201u16,
        latency_us = 41u64,
        "request"
    );
}

fn log_line(c: &mut Criterion) {
    let full_plain_fields = tracing_subscriber::fmt()
        .with_writer(std::io::sink)
        .with_timer(UtcMicros)
        .with_ansi(false)
        .fmt_fields(PlainFields)
        .finish();
    tracing::subscriber::with_default(full_plain_fields, || {
        c.bench_function("request line, plain fields", |b| b.iter(request_line));
    });
    let compact = tracing_subscriber::fmt()
        .with_writer(std::io::sink)
        .with_timer(UtcMicros)
        .with_ansi(false)
        .compact()
        .finish();
    tracing::subscriber::with_default(compact, || {
        c.bench_function("request line, tracing-subscriber compact", |b| {
            b.iter(request_line)
        });
    });
}

criterion_group!(benches, log_line);
criterion_main!(benches);
