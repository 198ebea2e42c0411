//! Settings: built-in defaults < `config/default.toml` < `config/local.toml` < `--config FILE` <
//! environment < command-line flags, loaded once in `main` and checked while loading.

use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use opentok_client::TokenFormat;
use secrecy::SecretString;
use serde::{de, Deserialize, Deserializer};
use tiny_opentok_domain::ApiKey;
use tiny_opentok_storage::{StoreOptions, StoreUrl};

/// Everything the server can be configured with. Its `Default` is the shipped
/// `config/default.toml`, built in so that the server also starts without a config directory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The HTTP listener and its limits.
    pub http: HttpSettings,
    /// OpenTok credentials and the REST client.
    pub opentok: OpenTokSettings,
    /// Vonage application credentials, the other kind (exactly one kind may be set).
    pub vonage: VonageSettings,
    /// The session store.
    pub storage: StorageSettings,
    /// Who may call the API, and from which browser origins.
    pub auth: AuthSettings,
}

/// The HTTP listener and its limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Interface to bind (`HOST`).
    pub host: String,
    /// Port to bind (`PORT`); 0 picks a free one.
    pub port: u16,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    /// Worker threads; the number of usable cores when absent.
    pub workers: Option<usize>,
    /// Most open connections per worker before new ones wait.
    pub max_connections: usize,
    /// How long in-flight requests may take to finish on SIGINT/SIGTERM, in seconds.
    pub shutdown_timeout_secs: u64,
    /// Largest request line plus headers, in bytes; larger requests get 431.
    pub max_header_bytes: usize,
    /// Time a client has to send its request head (`client_request_timeout_ms`; slow clients get 408).
    #[serde(rename = "client_request_timeout_ms", with = "millis")]
    pub client_request_timeout: Duration,
}

/// Who may call the API, and from which browser origins.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// Client API keys (`API_KEYS`, comma-separated). When any is set, every route but `/healthz`
    /// and `/readyz` needs `Authorization: Bearer <key>`. Never logged.
    #[serde(deserialize_with = "secret_list")]
    pub api_keys: Vec<SecretString>,
    /// Browser origins allowed by CORS (`CORS_ALLOWED_ORIGINS`, comma-separated; `*` for any).
    #[serde(deserialize_with = "list")]
    pub cors_allowed_origins: Vec<String>,
}

/// OpenTok credentials and the REST client. `Debug` shows the secret as `[REDACTED]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenTokSettings {
    /// API key (`OPENTOK_KEY`).
    #[serde(default, deserialize_with = "opt_api_key")]
    pub key: Option<ApiKey>,
    /// API secret (`OPENTOK_SECRET`). Never logged or printed.
    #[serde(default, deserialize_with = "opt_secret")]
    pub secret: Option<SecretString>,
    /// REST base URL (`OPENTOK_API_URL`).
    pub api_url: String,
    /// Limit on one REST call (`timeout_ms`, `OPENTOK_TIMEOUT_MS`).
    #[serde(rename = "timeout_ms", with = "millis")]
    pub timeout: Duration,
    /// Limit on opening a connection to OpenTok (`connect_timeout_ms`, `OPENTOK_CONNECT_TIMEOUT_MS`).
    #[serde(rename = "connect_timeout_ms", with = "millis")]
    pub connect_timeout: Duration,
    /// `t1` (default) or `jwt` with OpenTok credentials (`OPENTOK_TOKEN_FORMAT`); Vonage ones
    /// sign only `rs256`, their default. Absent unless set, so a misfit can be refused.
    #[serde(default, deserialize_with = "opt_token_format")]
    pub token_format: Option<TokenFormat>,
}

/// Vonage application credentials (REST timeouts as in `opentok`). `Debug` hides the key.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VonageSettings {
    /// Application id, a UUID (`VONAGE_APPLICATION_ID`); checked with the key at startup.
    #[serde(deserialize_with = "opt_text")]
    pub application_id: Option<String>,
    /// PEM private key file (`VONAGE_PRIVATE_KEY_PATH`), read at startup.
    #[serde(deserialize_with = "opt_text")]
    pub private_key_path: Option<String>,
    /// PEM private key itself, `\n` for line breaks allowed (`VONAGE_PRIVATE_KEY`). Never logged.
    #[serde(deserialize_with = "opt_secret")]
    pub private_key: Option<SecretString>,
    /// REST base URL (`VONAGE_API_URL`); absent, `https://video.api.vonage.com`.
    pub api_url: Option<String>,
}

/// The session store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSettings {
    /// Which store (`SESSION_STORE`, `--store`): `memory`, `sqlite://PATH` or `redis[s]://…`.
    /// Checked when loaded; its `Debug` and `Display` hide a password.
    #[serde(deserialize_with = "store_url")]
    pub url: StoreUrl,
    /// Most sessions kept; unbounded when absent (ignored by Redis).
    pub capacity: Option<usize>,
    /// Drop sessions unused for this many seconds; never when absent.
    pub idle_ttl_secs: Option<u64>,
    /// Limit on one store call (`timeout_ms`, `STORE_TIMEOUT_MS`); past it the request gets 503.
    #[serde(rename = "timeout_ms", with = "millis")]
    pub timeout: Duration,
    /// Prepended to every Redis key (`STORE_KEY_PREFIX`).
    pub key_prefix: String,
    /// Sessions each instance keeps in its read cache, SQLite and Redis (`STORE_CACHE_SIZE`); 0 is none.
    pub cache_size: u64,
}

impl StorageSettings {
    /// The options `open_store` takes.
    pub fn options(&self) -> StoreOptions {
        StoreOptions {
            capacity: self.capacity,
            idle_ttl: self.idle_ttl_secs.map(Duration::from_secs),
            timeout: self.timeout,
            key_prefix: self.key_prefix.clone(),
            cache_capacity: self.cache_size,
        }
    }
}

/// The shipped defaults (see [`Settings`]).
const DEFAULTS: &str = include_str!("../../../config/default.toml");

impl Default for Settings {
    fn default() -> Self {
        // Invariant: the shipped file is complete and valid; every test that loads settings
        // starts from it.
        Figment::from(Toml::string(DEFAULTS))
            .extract()
            .expect("config/default.toml holds valid settings")
    }
}

/// The environment variables users already know, each mapped to its key by hand so that unrelated
/// variables can never trip `deny_unknown_fields`.
pub const ENV_VARS: &[(&str, &str)] = &[
    ("OPENTOK_KEY", "opentok.key"),
    ("OPENTOK_SECRET", "opentok.secret"),
    ("OPENTOK_API_URL", "opentok.api_url"),
    ("OPENTOK_TIMEOUT_MS", "opentok.timeout_ms"),
    ("OPENTOK_CONNECT_TIMEOUT_MS", "opentok.connect_timeout_ms"),
    ("OPENTOK_TOKEN_FORMAT", "opentok.token_format"),
    ("VONAGE_APPLICATION_ID", "vonage.application_id"),
    ("VONAGE_PRIVATE_KEY_PATH", "vonage.private_key_path"),
    ("VONAGE_PRIVATE_KEY", "vonage.private_key"),
    ("VONAGE_API_URL", "vonage.api_url"),
    ("PORT", "http.port"),
    ("HOST", "http.host"),
    ("BODY_LIMIT_BYTES", "http.body_limit_bytes"),
    ("WORKERS", "http.workers"),
    ("MAX_CONNECTIONS", "http.max_connections"),
    ("MAX_HEADER_BYTES", "http.max_header_bytes"),
    (
        "CLIENT_REQUEST_TIMEOUT_MS",
        "http.client_request_timeout_ms",
    ),
    ("API_KEYS", "auth.api_keys"),
    ("CORS_ALLOWED_ORIGINS", "auth.cors_allowed_origins"),
    ("STORE_CAPACITY", "storage.capacity"),
    ("STORE_IDLE_TTL_SECS", "storage.idle_ttl_secs"),
    ("SESSION_STORE", "storage.url"),
    ("STORE_TIMEOUT_MS", "storage.timeout_ms"),
    ("STORE_KEY_PREFIX", "storage.key_prefix"),
    ("STORE_CACHE_SIZE", "storage.cache_size"),
];

/// Where settings come from, besides the environment.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The directory holding `default.toml` and `local.toml` (`./config` normally).
    pub config_dir: PathBuf,
    /// An extra file from `--config`, which must exist.
    pub config_file: Option<PathBuf>,
    /// `--host`, which beats every other source.
    pub host: Option<String>,
    /// `--port`, which beats every other source.
    pub port: Option<u16>,
    /// `--store`, which beats every other source.
    pub store: Option<String>,
}

/// A configuration that could not be loaded; the message names the key or file.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl Settings {
    /// Layers every source, later ones winning.
    ///
    /// # Errors
    /// A missing `--config` file, a file that is not TOML, an unknown key, or a value of the wrong
    /// type; the message names it.
    pub fn load(sources: &Sources) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULTS))
            .merge(Toml::file(sources.config_dir.join("default.toml")))
            .merge(Toml::file(sources.config_dir.join("local.toml")));
        if let Some(file) = &sources.config_file {
            if !Path::new(file).is_file() {
                return Err(ConfigError(format!(
                    "config file {} does not exist",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file(file));
        }
        let names: Vec<&str> = ENV_VARS.iter().map(|(name, _)| *name).collect();
        figment = figment.merge(Env::raw().only(&names).map(|name| {
            ENV_VARS
                .iter()
                .find(|(env, _)| name.as_str().eq_ignore_ascii_case(env))
                .map_or_else(|| name.as_str().to_owned(), |(_, key)| (*key).to_owned())
                .into()
        }));
        if let Some(host) = &sources.host {
            figment = figment.merge(Serialized::default("http.host", host));
        }
        if let Some(port) = sources.port {
            figment = figment.merge(Serialized::default("http.port", port));
        }
        if let Some(store) = &sources.store {
            figment = figment.merge(Serialized::default("storage.url", store));
        }
        figment.extract().map_err(describe)
    }
}

/// Names each bad key by its config path and by where it came from (file or environment variable).
fn describe(error: figment::Error) -> ConfigError {
    let lines: Vec<String> = error
        .into_iter()
        .map(|e| {
            let key = e.path.join(".").to_ascii_lowercase();
            let var = ENV_VARS.iter().find(|(_, k)| *k == key).map(|(var, _)| var);
            let from = match (&e.metadata, var) {
                (Some(m), Some(var)) if m.name.contains("environment") => {
                    format!(" (from environment variable {var})")
                }
                (Some(m), _) => m
                    .source
                    .as_ref()
                    .map(|s| format!(" (from {s})"))
                    .unwrap_or_default(),
                (None, _) => String::new(),
            };
            let key = if key.is_empty() {
                key
            } else {
                format!("{key}: ")
            };
            format!("{key}{}{from}", e.kind)
        })
        .collect();
    ConfigError(format!("invalid configuration: {}", lines.join("; ")))
}

/// Text or a number: figment reads `OPENTOK_KEY=123456` from the environment as a number.
#[derive(Deserialize)]
#[serde(untagged)]
enum Text {
    S(String),
    U(u64),
    I(i64),
}

impl Text {
    fn into_string(self) -> String {
        match self {
            Text::S(s) => s,
            Text::U(n) => n.to_string(),
            Text::I(n) => n.to_string(),
        }
    }
}

fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Text>::deserialize(d)?
        .map(Text::into_string)
        .filter(|s| !s.trim().is_empty()))
}

/// A list from a TOML array or a comma-separated string (how environment variables carry lists).
fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum List {
        One(Text),
        Many(Vec<Text>),
    }
    let items: Vec<String> = match List::deserialize(d)? {
        List::One(t) => t.into_string().split(',').map(str::to_owned).collect(),
        List::Many(v) => v.into_iter().map(Text::into_string).collect(),
    };
    Ok(items
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect())
}

/// A store URL, checked here so that a bad one stops startup naming `SESSION_STORE` and the
/// accepted forms; the error never repeats the URL (it may hold a password).
fn store_url<'de, D: Deserializer<'de>>(d: D) -> Result<StoreUrl, D::Error> {
    let url = Text::deserialize(d)?.into_string();
    StoreUrl::parse(url.trim()).map_err(de::Error::custom)
}

fn opt_api_key<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ApiKey>, D::Error> {
    opt_text(d)?
        .map(|key| ApiKey::parse(key.trim()).map_err(de::Error::custom))
        .transpose()
}

/// A duration written in whole milliseconds, at least 1.
mod millis {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        match u64::deserialize(d)? {
            0 => Err(de::Error::custom("must be at least 1 (milliseconds)")),
            ms => Ok(Duration::from_millis(ms)),
        }
    }
}

fn opt_token_format<'de, D: Deserializer<'de>>(d: D) -> Result<Option<TokenFormat>, D::Error> {
    opt_text(d)?
        .map(|f| f.trim().parse().map_err(de::Error::custom))
        .transpose()
}

fn secret_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SecretString>, D::Error> {
    Ok(list(d)?.into_iter().map(SecretString::from).collect())
}

fn opt_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    Ok(opt_text(d)?.map(SecretString::from))
}
