//! A real Redis-protocol server for the shared-store tests: Debian's
//! `redis-server` (or `valkey-server`) on a free 127.0.0.1 port, in a
//! directory of its own, stopped when dropped. Its data survives a
//! [`Redis::restart`] (saved on shutdown), as a production store's would.

use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server binary: `redis-server`, else `valkey-server`; `None` when
/// neither is installed (a failure under `DOCSPACE_MCP_REQUIRE_CLIENTS`).
pub fn binary() -> Option<PathBuf> {
    for name in ["redis-server", "valkey-server"] {
        for dir in std::env::var("PATH").unwrap_or_default().split(':') {
            let path = PathBuf::from(dir).join(name);
            if path.is_file() {
                return Some(path);
            }
        }
    }
    if std::env::var_os("DOCSPACE_MCP_REQUIRE_CLIENTS").is_some() {
        panic!("redis-server (or valkey-server) is not installed: scripts/test installs Debian's redis-server");
    }
    eprintln!("skipped: no redis-server or valkey-server on PATH");
    None
}

/// A running store.
pub struct Redis {
    pub port: u16,
    binary: PathBuf,
    dir: PathBuf,
    child: Option<Child>,
}

impl Redis {
    /// Starts one, or `None` when no server is installed (see [`binary`]).
    pub fn start() -> Option<Self> {
        let binary = binary()?;
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("docspace-mcp-redis-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut redis = Self { port, binary, dir, child: None };
        redis.spawn();
        Some(redis)
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn spawn(&mut self) {
        let child = Command::new(&self.binary)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string(), "--dir"])
            .arg(&self.dir)
            .args(["--save", "3600 1", "--appendonly", "no", "--protected-mode", "yes", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let until = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_err() {
            assert!(Instant::now() < until, "redis-server did not listen on {}", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server (SIGTERM: it saves its data and exits).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, with the data it saved.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Runs `redis-cli`-like commands through the `redis` crate.
    pub async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> T {
        let client = redis::Client::open(self.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        cmd.query_async(&mut conn).await.unwrap()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
