//! Configuration: layering of files and environment, and the binary's startup behaviour.

// figment::Jail closures must return figment::Error, whose size is not ours to choose.
#![allow(clippy::result_large_err)]

use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use figment::Jail;
use opentok_client::TokenFormat;
use secrecy::ExposeSecret as _;
use tiny_opentok_server::configuration::{Settings, Sources};
use tiny_opentok_storage::ACCEPTED_URLS;

const BIN: &str = env!("CARGO_BIN_EXE_tiny-opentok-server");

fn sources() -> Sources {
    Sources {
        config_dir: "config".into(),
        ..Sources::default()
    }
}

#[test]
fn defaults_apply_with_no_files_and_no_environment() {
    Jail::expect_with(|_jail| {
        let s = Settings::load(&sources()).expect("loads");
        assert_eq!(s.http.port, 3000);
        assert_eq!(s.http.host, "0.0.0.0");
        assert_eq!(s.opentok.api_url, "https://api.opentok.com");
        assert_eq!(s.opentok.timeout, Duration::from_secs(10));
        assert_eq!(s.opentok.token_format, None, "by credentials unless set");
        assert_eq!(
            s.vonage.api_url.as_deref(),
            Some("https://video.api.vonage.com")
        );
        assert!(s.opentok.key.is_none() && s.opentok.secret.is_none());
        assert_eq!(s.storage.url.backend(), "memory");
        assert_eq!(s.storage.timeout, Duration::from_millis(1000));
        assert_eq!(s.storage.key_prefix, "tos:");
        assert_eq!(s.storage.cache_size, 100_000);
        Ok(())
    });
}

#[test]
fn local_file_beats_default_file_and_environment_beats_both() {
    Jail::expect_with(|jail| {
        jail.create_dir("config")?;
        jail.create_file(
            "config/default.toml",
            "[http]\nport = 4000\nhost = \"10.0.0.1\"\n[opentok]\ntimeout_ms = 1\n",
        )?;
        jail.create_file(
            "config/local.toml",
            "[http]\nport = 5000\n[opentok]\nkey = \"111\"\nsecret = \"from-file\"\n",
        )?;
        let s = Settings::load(&sources()).expect("loads");
        assert_eq!(s.http.port, 5000);
        assert_eq!(s.http.host, "10.0.0.1");
        assert_eq!(s.opentok.timeout, Duration::from_millis(1));
        assert_eq!(s.opentok.key.as_ref().map(|k| k.as_str()), Some("111"));

        jail.set_env("PORT", "6000");
        jail.set_env("OPENTOK_KEY", "222");
        jail.set_env("OPENTOK_SECRET", "from-env");
        jail.set_env("OPENTOK_TOKEN_FORMAT", "jwt");
        jail.set_env("UNRELATED_VARIABLE", "never trips deny_unknown_fields");
        let s = Settings::load(&sources()).expect("loads");
        assert_eq!(s.http.port, 6000);
        assert_eq!(
            s.opentok.key.as_ref().map(|k| k.as_str()),
            Some("222"),
            "numeric env key read as text"
        );
        assert_eq!(
            s.opentok.secret.as_ref().unwrap().expose_secret(),
            "from-env"
        );
        assert_eq!(s.opentok.token_format, Some(TokenFormat::Jwt));

        let with_flags = Sources {
            port: Some(7000),
            host: Some("127.0.0.1".into()),
            ..sources()
        };
        let s = Settings::load(&with_flags).expect("loads");
        assert_eq!(s.http.port, 7000, "--port beats PORT");
        assert_eq!(s.http.host, "127.0.0.1");
        Ok(())
    });
}

#[test]
fn explicit_config_file_beats_local_and_must_exist() {
    Jail::expect_with(|jail| {
        jail.create_dir("config")?;
        jail.create_file("config/local.toml", "[http]\nport = 5000\n")?;
        jail.create_file("extra.toml", "[http]\nport = 5500\n")?;
        let s = Settings::load(&Sources {
            config_file: Some("extra.toml".into()),
            ..sources()
        })
        .expect("loads");
        assert_eq!(s.http.port, 5500);
        let err = Settings::load(&Sources {
            config_file: Some("missing.toml".into()),
            ..sources()
        })
        .unwrap_err();
        assert!(err.to_string().contains("missing.toml"), "{err}");
        Ok(())
    });
}

#[test]
fn unknown_keys_and_wrong_types_fail_naming_the_key() {
    Jail::expect_with(|jail| {
        jail.create_dir("config")?;
        jail.create_file("config/local.toml", "[http]\nprot = 5000\n")?;
        let err = Settings::load(&sources()).unwrap_err().to_string();
        assert!(err.contains("prot"), "{err}");
        jail.create_file("config/local.toml", "")?;
        jail.set_env("PORT", "eighty");
        let err = Settings::load(&sources()).unwrap_err().to_string();
        assert!(err.contains("http.port") && err.contains("PORT"), "{err}");
        Ok(())
    });
}

#[test]
fn settings_that_cannot_be_used_fail_at_load_naming_the_variable() {
    for (var, value, needle) in [
        ("OPENTOK_TIMEOUT_MS", "0", "at least 1"),
        ("OPENTOK_CONNECT_TIMEOUT_MS", "0", "at least 1"),
        ("CLIENT_REQUEST_TIMEOUT_MS", "0", "at least 1"),
        ("OPENTOK_TOKEN_FORMAT", "JWT", "'t1' or 'jwt'"),
        ("OPENTOK_KEY", "key with spaces", "apiKey"),
        ("STORE_TIMEOUT_MS", "0", "at least 1"),
        ("SESSION_STORE", "sessions.db", ACCEPTED_URLS),
        ("SESSION_STORE", "postgres://u:pw@db/x", ACCEPTED_URLS),
        ("SESSION_STORE", "sqlite://", "sqlite://data/sessions.db"),
    ] {
        Jail::expect_with(|jail| {
            jail.set_env(var, value);
            let err = Settings::load(&sources()).unwrap_err().to_string();
            assert!(err.contains(var) && err.contains(needle), "{var}: {err}");
            Ok(())
        });
    }
}

#[test]
fn store_settings_come_from_their_variables_and_the_store_flag() {
    Jail::expect_with(|jail| {
        jail.set_env("SESSION_STORE", "sqlite://data/sessions.db");
        jail.set_env("STORE_TIMEOUT_MS", "250");
        jail.set_env("STORE_KEY_PREFIX", "app1:");
        jail.set_env("STORE_CACHE_SIZE", "0");
        let s = Settings::load(&sources()).expect("loads");
        assert_eq!(s.storage.url.to_string(), "sqlite://data/sessions.db");
        let options = s.storage.options();
        assert_eq!(options.timeout, Duration::from_millis(250));
        assert_eq!(options.key_prefix, "app1:");
        assert_eq!(options.cache_capacity, 0);
        let flagged = Settings::load(&Sources {
            store: Some("memory".into()),
            ..sources()
        })
        .expect("loads");
        assert_eq!(
            flagged.storage.url.backend(),
            "memory",
            "--store beats SESSION_STORE"
        );
        Ok(())
    });
}

#[test]
fn a_store_password_never_shows_in_debug_output_or_errors() {
    Jail::expect_with(|jail| {
        jail.set_env("SESSION_STORE", "redis://app:pw-s3cr3t@cache:6379/0");
        let s = Settings::load(&sources()).expect("loads");
        let debug = format!("{s:?}");
        assert!(!debug.contains("pw-s3cr3t"), "{debug}");
        assert!(debug.contains("redis://app:***@cache:6379/0"), "{debug}");
        jail.set_env("SESSION_STORE", "redis://app:pw-s3cr3t@cache:notaport");
        let err = Settings::load(&sources()).unwrap_err().to_string();
        assert!(!err.contains("pw-s3cr3t"), "{err}");
        Ok(())
    });
}

#[test]
fn secret_never_shows_in_debug_output() {
    Jail::expect_with(|jail| {
        jail.set_env("OPENTOK_SECRET", "s3cr3t-value");
        jail.set_env("API_KEYS", "client-key-one,client-key-two");
        let s = Settings::load(&sources()).expect("loads");
        assert_eq!(s.auth.api_keys.len(), 2);
        let shown = format!("{s:?} {s:#?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(!shown.contains("client-key"), "{shown}");
        Ok(())
    });
}

fn empty_dir() -> tempdir::Dir {
    tempdir::Dir::new()
}

/// A scratch directory removed on drop (std only, to keep dev-dependencies few).
mod tempdir {
    use std::path::{Path, PathBuf};
    pub struct Dir(PathBuf);
    impl Dir {
        pub fn new() -> Self {
            let path = std::env::temp_dir().join(format!(
                "tiny-opentok-test-{}-{}",
                std::process::id(),
                rand_suffix()
            ));
            std::fs::create_dir_all(&path).expect("temp dir");
            Self(path)
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    fn rand_suffix() -> u128 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    }
}

fn server(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).env_clear().env("RUST_LOG", "info");
    cmd
}

#[test]
fn missing_credentials_exit_non_zero_with_one_clear_line() {
    let dir = empty_dir();
    let out = server(dir.path())
        .args(["--port", "0"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("OPENTOK_KEY") && last.contains("OPENTOK_SECRET"),
        "{stderr}"
    );
    assert!(
        last.contains("config/local.toml"),
        "says where to set them: {last}"
    );
}

#[test]
fn an_unknown_store_url_exits_non_zero_with_one_line_naming_session_store() {
    let dir = empty_dir();
    let out = server(dir.path())
        .args(["--mock-opentok", "--port", "0"])
        .env("SESSION_STORE", "mysql://root:pw-x1@db/sessions")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("SESSION_STORE") && last.contains(ACCEPTED_URLS),
        "{stderr}"
    );
    assert!(!stderr.contains("pw-x1"), "{stderr}");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn healthy(port: u16) -> bool {
    use std::io::{Read as _, Write as _};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200") && answer.contains(r#"{"status":"ok"}"#)
}

#[test]
fn environment_port_beats_the_config_file_in_the_real_binary() {
    let dir = empty_dir();
    let (file_port, env_port) = (free_port(), free_port());
    std::fs::create_dir(dir.path().join("config")).unwrap();
    std::fs::write(
        dir.path().join("config/local.toml"),
        format!("[http]\nhost = \"127.0.0.1\"\nport = {file_port}\n"),
    )
    .unwrap();
    let mut child = server(dir.path())
        .arg("--mock-opentok")
        .env("PORT", env_port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !healthy(env_port) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let up_on_env_port = healthy(env_port);
    let up_on_file_port = healthy(file_port);
    child.kill().expect("stop the server we started");
    let _ = child.wait();
    let log: Vec<String> = BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .collect();
    assert!(up_on_env_port, "serves on PORT; log: {log:?}");
    assert!(!up_on_file_port);
    assert!(
        log.iter().any(|l| l.contains("NOT real")),
        "mock mode warns: {log:?}"
    );
}
