//! What the persistent-store tests share: the real binary as a child process with its log in a
//! file, a Redis of the test's own (started and stopped by PID), the shared Redis at `REDIS_URL`,
//! and throwaway folders and key prefixes.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_web::http::StatusCode;
use opentok_mock::MockOpenTok;
use serde_json::Value;

use crate::helpers::{KEY, SECRET};

/// A name no other test (or run) uses.
pub fn unique(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("tos-test-{tag}-{}-{nanos}", std::process::id())
}

/// A scratch folder removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let path = std::env::temp_dir().join(unique(tag));
        std::fs::create_dir_all(&path).expect("temp dir");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The real server binary, killed on drop if still running.
pub struct Server {
    /// `None` once stopped.
    child: Option<Child>,
    pub url: String,
}

impl Server {
    /// Starts the binary against `mock` with `env`, logging to `log`, and waits for its
    /// `listening on` line. Panics with the log when it does not start. The log is buffered:
    /// read it after [`Server::stop`] for every line.
    pub fn start(mock: &MockOpenTok, env: &[(&str, &str)], log: &Path) -> Self {
        use std::io::BufRead as _;
        let mut child = Command::new(env!("CARGO_BIN_EXE_tiny-opentok-server"))
            .env_clear()
            .env("OPENTOK_KEY", KEY)
            .env("OPENTOK_SECRET", SECRET)
            .env("OPENTOK_API_URL", mock.url())
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("WORKERS", "2")
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).expect("log file"))
            .spawn()
            .expect("server starts");
        let mut line = String::new();
        let _ = std::io::BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line);
        let Some(url) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the server did not start; its log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        };
        Self {
            child: Some(child),
            url: url.to_owned(),
        }
    }

    /// SIGTERM, then waits for a clean exit.
    pub async fn stop(mut self) {
        let mut child = self.child.take().expect("running");
        crate::helpers::sigterm(&child);
        let status = actix_web::rt::task::spawn_blocking(move || child.wait())
            .await
            .expect("wait task")
            .expect("wait");
        assert!(status.success(), "clean exit after SIGTERM: {status}");
    }

    /// Not stopped or killed yet.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// SIGKILL (`kill -9`): no shutdown code runs.
    pub fn kill_9(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("SIGKILL delivered");
        let _ = child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// An HTTP client with a generous timeout: a hang shows as a slow failure, not a stuck test.
pub fn client() -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish()
}

/// The status, JSON body and `Retry-After` of a POST with an empty body.
pub async fn post(http: &awc::Client, url: &str) -> (StatusCode, Value, Option<String>) {
    let mut res = http.post(url).send().await.expect("request answered");
    let retry_after = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let body = res.json().await.expect("JSON body");
    (res.status(), body, retry_after)
}

/// `GET url`: status and JSON body.
pub async fn get(http: &awc::Client, url: &str) -> (StatusCode, Value) {
    let mut res = http.get(url).send().await.expect("request answered");
    let body = res.json().await.expect("JSON body");
    (res.status(), body)
}

/// Creates a session through `server` and returns its id.
pub async fn create_session(http: &awc::Client, server: &Server) -> String {
    let (status, body, _) = post(http, &format!("{}/session", server.url)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().expect("id").to_owned()
}

/// The status of minting a token for `id` through `server`.
pub async fn mint(http: &awc::Client, server: &Server, id: &str) -> (StatusCode, Value) {
    let (status, body, _) = post(http, &format!("{}/session/{id}/access", server.url)).await;
    (status, body)
}

/// A free port on 127.0.0.1 (free when asked; good enough for a test).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}

/// The shared Redis the multi-instance tests use: `REDIS_URL`, default `redis://127.0.0.1:6379`.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A connection to the Redis at `url`; fails the test with what to do when there is none.
pub fn redis_connection(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(3)))
        .unwrap_or_else(|e| {
            panic!(
                "these tests need a Redis at {url} (set REDIS_URL, or start one with \
                 `redis-server --daemonize yes`): {e}"
            )
        })
}

/// Deletes every key under `prefix` on drop.
pub struct RedisKeys {
    pub url: String,
    pub prefix: String,
}

impl Drop for RedisKeys {
    fn drop(&mut self) {
        let Ok(mut conn) = redis::Client::open(self.url.as_str())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(3)))
        else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query(&mut conn)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query(&mut conn);
        }
    }
}

/// A `redis-server` of this test's own on a free port, keeping nothing on disk, stopped by PID
/// on drop.
pub struct OwnRedis {
    child: Option<Child>,
    pub port: u16,
    args: Vec<String>,
}

impl OwnRedis {
    pub fn start(extra: &[&str]) -> Self {
        let mut redis = Self {
            child: None,
            port: free_port(),
            args: extra.iter().map(|s| (*s).to_owned()).collect(),
        };
        redis.restart();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it (again) on the same port and waits until it answers.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("these tests need redis-server on the PATH: {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills it by PID and waits for it to be gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}
