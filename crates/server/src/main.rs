//! The `tiny-opentok-server` binary: parse configuration, start, serve.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tiny_opentok_server::configuration::{Settings, Sources};
use tiny_opentok_server::{AppDeps, Application};

/// Creates OpenTok sessions and mints client tokens over HTTP.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// An extra TOML config file, applied after config/default.toml and config/local.toml.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Port to listen on (beats PORT and config files).
    #[arg(long)]
    port: Option<u16>,
    /// Interface to listen on (beats HOST and config files).
    #[arg(long)]
    host: Option<String>,
    /// Session store: memory, sqlite://PATH or redis://… (beats SESSION_STORE and config files).
    /// Prefer SESSION_STORE for a URL with a password: arguments show in process lists.
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// Run offline against a built-in mock OpenTok with demo credentials; sessions are not real.
    #[arg(long)]
    mock_opentok: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Dropped at the end of main, which flushes the lines still queued.
    let _log_guard = tiny_opentok_server::telemetry::init();
    let sources = Sources {
        config_dir: PathBuf::from("config"),
        config_file: cli.config.clone(),
        host: cli.host.clone(),
        port: cli.port,
        store: cli.store.clone(),
    };
    let settings = match Settings::load(&sources) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    match actix_web::rt::System::new().block_on(serve(settings, cli.mock_opentok)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

async fn serve(mut settings: Settings, mock: bool) -> Result<(), Box<dyn std::error::Error>> {
    // Kept alive for the life of the server.
    let _mock = if mock {
        Some(start_mock(&mut settings).await?)
    } else {
        None
    };
    let deps = AppDeps::from_settings(&settings).await?;
    let app = Application::build(&settings, deps)?;
    // One plain line on stdout for scripts that start us on port 0; logs go to stderr.
    println!("listening on http://{}", app.address());
    tracing::info!(
        address = %app.address(),
        store = settings.storage.url.backend(),
        store_url = %settings.storage.url,
        "listening"
    );
    app.run().await?;
    Ok(())
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::FAILURE
}

/// `--mock-opentok`: a built-in mock OpenTok with generated demo credentials.
#[cfg(feature = "mock")]
async fn start_mock(
    settings: &mut Settings,
) -> Result<opentok_mock::MockOpenTok, Box<dyn std::error::Error>> {
    let key = rand::Rng::gen_range(&mut rand::thread_rng(), 10_000_000..100_000_000u32).to_string();
    let secret = format!("{:032x}", rand::random::<u128>());
    let mock =
        opentok_mock::MockOpenTok::start(opentok_mock::MockConfig::new(&key, &secret)).await?;
    tracing::warn!(
        mock_url = mock.url(),
        api_key = key,
        "running against the built-in mock OpenTok: sessions and tokens are NOT real"
    );
    settings.opentok.key = Some(tiny_opentok_domain::ApiKey::parse(&key)?);
    settings.opentok.secret = Some(secrecy::SecretString::from(secret));
    settings.opentok.api_url = mock.url().to_owned();
    // The mock's credentials replace any configured ones, of either kind.
    settings.vonage = Default::default();
    Ok(mock)
}

#[cfg(not(feature = "mock"))]
async fn start_mock(_: &mut Settings) -> Result<(), Box<dyn std::error::Error>> {
    Err(
        "--mock-opentok: this build has no mock OpenTok (it was built without the `mock` feature)"
            .into(),
    )
}
