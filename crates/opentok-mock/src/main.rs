//! `opentok-mock`: runs the mock OpenTok REST API as a process, for the Python SDK check, manual
//! testing and benchmarks.
//!
//! Prints exactly one line, `listening on http://127.0.0.1:PORT`, to stdout once it accepts
//! connections; logs go to stderr (`RUST_LOG` filters them). Stops on SIGINT or SIGTERM.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use opentok_mock::{MockConfig, MockOpenTok};
use tracing_subscriber::EnvFilter;

/// A mock of the OpenTok REST API (POST /session/create).
#[derive(Debug, Parser)]
#[command(name = "opentok-mock", version, about)]
struct Args {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, env = "OPENTOK_MOCK_ADDR", default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// The API key clients must sign for.
    #[arg(long, env = "OPENTOK_MOCK_API_KEY")]
    api_key: String,
    /// The API secret clients must sign with.
    #[arg(long, env = "OPENTOK_MOCK_API_SECRET", hide_env_values = true)]
    api_secret: String,
    /// Milliseconds added to every answer.
    #[arg(long, env = "OPENTOK_MOCK_LATENCY_MS", default_value_t = 0)]
    latency_ms: u64,
    /// Accept auth JWTs without a `jti` claim, as the Node SDK sends them.
    #[arg(long, env = "OPENTOK_MOCK_ACCEPT_MISSING_JTI")]
    accept_missing_jti: bool,
}

#[actix_web::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let config = MockConfig {
        addr: args.addr,
        api_key: args.api_key,
        api_secret: args.api_secret,
        latency: Duration::from_millis(args.latency_ms),
    };
    let mock = match MockOpenTok::start(config).await {
        Ok(mock) => mock,
        Err(err) => {
            tracing::error!(error = %err, "cannot start the mock");
            return ExitCode::FAILURE;
        }
    };
    mock.set_accept_missing_jti(args.accept_missing_jti);
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "listening on {}", mock.url())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        tracing::error!("cannot write the listening line to stdout");
        mock.stop().await;
        return ExitCode::FAILURE;
    }
    drop(stdout);

    let code = match wait_for_signal().await {
        Ok(name) => {
            tracing::info!(signal = name, "stopping");
            ExitCode::SUCCESS
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot listen for signals");
            ExitCode::FAILURE
        }
    };
    mock.stop().await;
    code
}

#[cfg(unix)]
async fn wait_for_signal() -> std::io::Result<&'static str> {
    use actix_rt::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => Ok("SIGTERM"),
        _ = int.recv() => Ok("SIGINT"),
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> std::io::Result<&'static str> {
    actix_rt::signal::ctrl_c().await.map(|()| "ctrl-c")
}
