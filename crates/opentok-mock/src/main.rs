//! `opentok-mock`: runs the mock OpenTok REST API as a process, for the Python SDK check, manual
//! testing and benchmarks.
//!
//! Prints exactly one line, `listening on http://127.0.0.1:PORT`, to stdout once it accepts
//! connections; logs go to stderr (`RUST_LOG` filters them). Stops on SIGINT or SIGTERM.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use opentok_mock::{MockConfig, MockOpenTok, VonageMockConfig};
use tracing_subscriber::EnvFilter;

/// A mock of the OpenTok REST API (POST /session/create), as an OpenTok project (--api-key and
/// --api-secret) or as a Vonage Video application (--application-id and a key path).
#[derive(Debug, Parser)]
#[command(name = "opentok-mock", version, about)]
struct Args {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, env = "OPENTOK_MOCK_ADDR", default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// The API key clients must sign for (OpenTok mode).
    #[arg(
        long,
        env = "OPENTOK_MOCK_API_KEY",
        required_unless_present = "application_id"
    )]
    api_key: Option<String>,
    /// The API secret clients must sign with (OpenTok mode).
    #[arg(
        long,
        env = "OPENTOK_MOCK_API_SECRET",
        hide_env_values = true,
        requires = "api_key"
    )]
    api_secret: Option<String>,
    /// Vonage mode: the application id (a UUID) Bearer JWTs must name.
    #[arg(long, env = "OPENTOK_MOCK_APPLICATION_ID", conflicts_with_all = ["api_key", "api_secret"])]
    application_id: Option<String>,
    /// Vonage mode: PEM file with the application's public key.
    #[arg(
        long,
        env = "OPENTOK_MOCK_PUBLIC_KEY_PATH",
        requires = "application_id"
    )]
    public_key_path: Option<PathBuf>,
    /// Vonage mode: PEM file with the application's private key; only its public half is kept.
    #[arg(
        long,
        env = "OPENTOK_MOCK_PRIVATE_KEY_PATH",
        requires = "application_id",
        conflicts_with = "public_key_path"
    )]
    private_key_path: Option<PathBuf>,
    /// Milliseconds added to every answer.
    #[arg(long, env = "OPENTOK_MOCK_LATENCY_MS", default_value_t = 0)]
    latency_ms: u64,
    /// Refuse OpenTok auth JWTs without a `jti` claim (the real service, and so the mock by
    /// default, accepts them: the Node `opentok` SDK sends none).
    #[arg(long, env = "OPENTOK_MOCK_REQUIRE_JTI")]
    require_jti: bool,
}

/// Starts the mock in the mode the arguments name.
async fn start(args: &Args) -> Result<MockOpenTok, String> {
    let latency = Duration::from_millis(args.latency_ms);
    let started = if let Some(application_id) = &args.application_id {
        let path = args
            .public_key_path
            .as_ref()
            .or(args.private_key_path.as_ref())
            .ok_or("--application-id needs --public-key-path or --private-key-path")?;
        let key_pem = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        MockOpenTok::start_vonage(VonageMockConfig {
            addr: args.addr,
            application_id: application_id.clone(),
            key_pem,
            latency,
        })
        .await
    } else {
        let (Some(api_key), Some(api_secret)) = (&args.api_key, &args.api_secret) else {
            return Err("--api-key needs --api-secret".to_owned());
        };
        MockOpenTok::start(MockConfig {
            addr: args.addr,
            api_key: api_key.clone(),
            api_secret: api_secret.clone(),
            latency,
        })
        .await
    };
    started.map_err(|e| e.to_string())
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

    let mock = match start(&args).await {
        Ok(mock) => mock,
        Err(err) => {
            tracing::error!(error = %err, "cannot start the mock");
            return ExitCode::FAILURE;
        }
    };
    mock.set_require_jti(args.require_jti);
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
