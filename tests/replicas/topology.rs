//! The topology under test, on 127.0.0.1 only: the shared store
//! (`redis-server`, or `valkey-server`), the sandbox portal (in this
//! process), three `docspace-mcp --transport http` replicas (processes of the
//! binary under test), and nginx in front of them, round robin with no
//! stickiness. Every process is killed when the [`Topology`] is dropped, a
//! failed test's unwinding included, and its folder (logs, the store's
//! append-only file, nginx's files) removed, or kept and named when the test
//! failed.
//!
//! nginx's server block is `deploy/nginx/docspace-mcp.conf`'s, less TLS: the
//! shipped file, proved with replicas. The `upstream` block lists the three
//! replicas instead of one, and the access log records the replica that
//! answered each request (`$upstream_addr`), which is how the tests prove
//! where requests landed ([`Nginx::log`]).

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use docspace_mcp::sandbox::{self, Sandbox};
use docspace_mcp_client::reqwest;
use serde_json::Value;

use crate::common::{clients, root, server_command};

/// The OAuth proxy's signing key, the same on every replica.
pub const OAUTH_KEY: &str = crate::common::oauth::KEY;
/// The shared store's key, the same on every replica (at least 32 bytes).
pub const STATE_KEY: &str = "a-state-test-key-that-is-long-enough-9876543210";
/// How many replicas run.
pub const REPLICAS: usize = 3;

/// How long a process may take to answer after it starts: a guard against
/// a hang, not a measurement (start-up takes well under a second here).
const READY_WITHIN: Duration = Duration::from_secs(30);

/// What differs between the topologies of the tests.
#[derive(Debug, Clone)]
pub struct Options {
    /// The MCP rate limit: requests per client address, window in ms.
    pub rate_limit: (u32, u64),
}

/// A free port on 127.0.0.1 (bound, then released for a process to take).
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port()
}

/// An HTTP client for the checks: no redirects followed, and a time limit
/// per request so that a hung server fails the test instead of stalling it.
pub fn http() -> reqwest::Client {
    docspace_mcp_client::tls::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A child process that is killed (SIGKILL) and reaped when dropped.
struct Proc(Option<Child>);

impl Proc {
    fn spawn(cmd: &mut Command, what: &str) -> Self {
        let child = cmd.stdin(Stdio::null()).spawn().unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
        Self(Some(child))
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether it is still running.
    fn running(&mut self) -> bool {
        self.0.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A file that is created for appending (a process's log).
fn log_file(path: &Path) -> std::fs::File {
    std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap()
}

/// The last lines of a log, for a failure's message.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The shared store: `redis-server` on 127.0.0.1, its data in the
/// topology's folder, with an append-only file written at every change
/// (`--appendonly yes --appendfsync always`), so that a store killed and
/// started again on the same port comes back with everything it had.
pub struct Redis {
    bin: PathBuf,
    dir: PathBuf,
    pub port: u16,
    proc: Proc,
}

impl Redis {
    /// The command line (docs/deploy.md shows it).
    pub fn argv(&self) -> Vec<String> {
        let port = self.port.to_string();
        let dir = self.dir.display().to_string();
        let log = self.dir.join("redis.log").display().to_string();
        [
            "--bind",
            "127.0.0.1",
            "--port",
            &port,
            "--dir",
            &dir,
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--daemonize",
            "no",
            "--logfile",
            &log,
        ]
        .map(String::from)
        .to_vec()
    }

    fn start(bin: PathBuf, dir: &Path) -> Self {
        let dir = dir.join("redis");
        std::fs::create_dir_all(&dir).unwrap();
        let mut redis = Self { bin, dir, port: free_port(), proc: Proc(None) };
        redis.run();
        redis
    }

    fn run(&mut self) {
        let mut cmd = Command::new(&self.bin);
        cmd.args(self.argv()).stdout(Stdio::null()).stderr(log_file(&self.dir.join("redis.stderr")));
        self.proc = Proc::spawn(&mut cmd, "redis-server");
        let deadline = Instant::now() + READY_WITHIN;
        while !self.pong() {
            assert!(self.proc.running(), "redis-server ended at start:\n{}", tail(&self.dir.join("redis.log"), 20));
            assert!(
                Instant::now() < deadline,
                "redis-server does not answer:\n{}",
                tail(&self.dir.join("redis.log"), 20)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether it answers PING.
    pub fn pong(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)) else { return false };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let mut buf = [0u8; 7];
        s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills it (SIGKILL, as a crash): nothing is saved at the end, so what
    /// comes back is what the append-only file holds.
    pub fn kill(&mut self) {
        self.proc.kill();
    }

    /// Starts it again, on the same port and folder.
    pub fn restart(&mut self) {
        self.run();
    }
}

/// One replica: the binary under test on its own port.
pub struct Replica {
    pub index: usize,
    pub port: u16,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    log: PathBuf,
    proc: Proc,
}

impl Replica {
    fn run(&mut self) {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let envs: Vec<(&str, &str)> = self.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut cmd = server_command(&args, &envs);
        cmd.stdout(Stdio::null()).stderr(log_file(&self.log));
        self.proc = Proc::spawn(&mut cmd, "docspace-mcp");
    }

    /// Kills it (SIGKILL: no shutdown, its sessions and streams just end).
    pub fn kill(&mut self) {
        self.proc.kill();
    }

    /// Starts it again on the same port.
    pub async fn restart(&mut self) {
        self.run();
        self.wait_ready().await;
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.proc.running()
    }

    /// Its log (stderr), as far as written.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `GET /health`: the status and JSON.
    pub async fn health(&self) -> (u16, Value) {
        let r = http().get(format!("{}/health", self.base)).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Ok(r) = http().get(format!("{}/health", self.base)).send().await
                && r.status() == 200
            {
                return;
            }
            assert!(self.running(), "replica {} ended at start:\n{}", self.index, tail(&self.log, 30));
            assert!(Instant::now() < deadline, "replica {} does not answer:\n{}", self.index, tail(&self.log, 30));
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// One line of nginx's access log (`log_format replicas`).
#[derive(Debug, Clone)]
pub struct Access {
    pub method: String,
    /// Path and query.
    pub uri: String,
    pub status: u16,
    /// Every replica nginx tried, in order (`$upstream_addr`): more than one
    /// when a replica refused the connection and nginx passed the request on.
    pub upstreams: Vec<String>,
    /// The request's `Mcp-Session-Id`.
    pub session: String,
    /// The `Mcp-Session-Id` of the answer (an `initialize`).
    pub new_session: String,
    /// The `X-Forwarded-For` the client sent.
    pub xff: String,
}

impl Access {
    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.uri.split('?').next().unwrap_or_default()
    }

    /// The replica that answered (the last one tried).
    pub fn upstream(&self) -> &str {
        self.upstreams.last().map_or("", String::as_str)
    }
}

/// nginx in front of the replicas.
pub struct Nginx {
    dir: PathBuf,
    proc: Proc,
}

impl Nginx {
    /// The configuration: `deploy/nginx/docspace-mcp.conf` from its
    /// `upstream` block on, with the replicas as the upstream's servers,
    /// listening on 127.0.0.1 without TLS, and a log of where each request
    /// went.
    pub fn config(dir: &Path, port: u16, replicas: &[u16]) -> (String, String) {
        let shipped = std::fs::read_to_string(root().join("deploy/nginx/docspace-mcp.conf")).unwrap();
        let block = &shipped[shipped.find("upstream ").expect("the shipped file's upstream block")..];
        let servers: String = replicas.iter().map(|p| format!("    server 127.0.0.1:{p} max_fails=0;\n")).collect();
        let one = "    server 127.0.0.1:8080;\n";
        assert!(block.contains(one), "deploy/nginx/docspace-mcp.conf: its upstream names 127.0.0.1:8080");
        let site = block
            .replacen(one, &servers, 1)
            .replacen("listen 443 ssl http2;", &format!("listen 127.0.0.1:{port};"), 1)
            .lines()
            .filter(|l| !l.trim_start().starts_with("ssl_certificate"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(site.contains(&format!("listen 127.0.0.1:{port};")), "the shipped file's listen line changed");
        let d = dir.display();
        // One process, no master and workers: round robin is one sequence over every request, and
        // killing the process leaves no worker behind.
        let main = format!(
            r#"master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 1024; }}
http {{
    log_format replicas escape=json '{{"method":"$request_method","uri":"$request_uri","status":$status,'
        '"upstream":"$upstream_addr","session":"$http_mcp_session_id","new_session":"$sent_http_mcp_session_id",'
        '"xff":"$http_x_forwarded_for"}}';
    access_log {d}/access.log replicas;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    include {d}/site.conf;
}}
"#
        );
        (main, site)
    }

    fn start(bin: &Path, dir: &Path, port: u16, replicas: &[u16]) -> Self {
        let dir = dir.join("nginx");
        std::fs::create_dir_all(&dir).unwrap();
        let (main, site) = Self::config(&dir, port, replicas);
        std::fs::write(dir.join("nginx.conf"), main).unwrap();
        std::fs::write(dir.join("site.conf"), site).unwrap();
        let mut cmd = Command::new(bin);
        cmd.args(Self::argv(&dir)).stdout(Stdio::null()).stderr(log_file(&dir.join("stderr.log")));
        let mut proc = Proc::spawn(&mut cmd, "nginx");
        let deadline = Instant::now() + READY_WITHIN;
        while std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            let why = || format!("{}\n{}", tail(&dir.join("stderr.log"), 10), tail(&dir.join("error.log"), 10));
            assert!(proc.running(), "nginx ended at start:\n{}", why());
            assert!(Instant::now() < deadline, "nginx does not listen:\n{}", why());
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { dir, proc }
    }

    /// The command line.
    pub fn argv(dir: &Path) -> Vec<String> {
        let d = dir.display();
        vec![
            "-p".into(),
            format!("{d}"),
            "-c".into(),
            format!("{d}/nginx.conf"),
            "-e".into(),
            format!("{d}/error.log"),
            "-g".into(),
            "daemon off;".into(),
        ]
    }

    /// Every request logged so far (nginx logs a request when it ends).
    pub fn log(&self) -> Vec<Access> {
        let text = std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default();
        text.lines()
            .map(|line| {
                let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("access log line {line}: {e}"));
                let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
                Access {
                    method: s("method"),
                    uri: s("uri"),
                    status: u16::try_from(v["status"].as_u64().unwrap_or_default()).unwrap_or_default(),
                    upstreams: s("upstream")
                        .split(',')
                        .map(str::trim)
                        .filter(|a| a.contains(':'))
                        .map(str::to_owned)
                        .collect(),
                    session: s("session"),
                    new_session: s("new_session"),
                    xff: s("xff"),
                }
            })
            .collect()
    }

    /// How many requests are logged: a mark for [`Nginx::log_since`].
    pub fn mark(&self) -> usize {
        self.log().len()
    }

    /// The requests logged after `mark`.
    pub fn log_since(&self, mark: usize) -> Vec<Access> {
        self.log().into_iter().skip(mark).collect()
    }

    /// nginx's error log, for a failure's message.
    pub fn errors(&self) -> String {
        tail(&self.dir.join("error.log"), 40)
    }
}

/// The store, the portal, three replicas and nginx.
pub struct Topology {
    /// nginx: `http://127.0.0.1:<port>`, the servers' public URL.
    pub public: String,
    pub portal: Arc<Sandbox>,
    pub redis: Redis,
    pub replicas: Vec<Replica>,
    pub nginx: Nginx,
    dir: PathBuf,
}

impl Drop for Topology {
    fn drop(&mut self) {
        // nginx first, so that no request reaches a replica being killed; then the rest.
        self.nginx.proc.kill();
        for r in &mut self.replicas {
            r.kill();
        }
        self.redis.kill();
        if std::thread::panicking() {
            // Leave the logs for whoever reads the failure.
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("replicas: logs kept in {}\n", self.dir.display()).as_bytes(),
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The programs the topology needs, or `None` (the test is skipped, or
/// fails under `DOCSPACE_MCP_REQUIRE_CLIENTS`).
pub struct Programs {
    pub redis: PathBuf,
    pub nginx: PathBuf,
}

impl Programs {
    pub fn find() -> Option<Self> {
        let redis = clients::redis_server();
        let nginx = clients::nginx();
        Some(Self { redis: redis?, nginx: nginx? })
    }
}

impl Topology {
    /// Starts everything; each part answers before this returns.
    pub async fn start(programs: &Programs, options: Options) -> Self {
        let dir = std::env::temp_dir().join(format!("docspace-mcp-replicas-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let redis = Redis::start(programs.redis.clone(), &dir);
        let portal = Arc::new(Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.unwrap());
        let nginx_port = free_port();
        let public = format!("http://127.0.0.1:{nginx_port}");
        // DocSpace sends users back to the public URL, nginx's.
        portal.allow_oauth_redirect(&format!("{public}/oauth/callback"));
        let prefix = format!("docspace-mcp-test-{}", uuid::Uuid::new_v4().simple());
        let mut replicas = Vec::new();
        for index in 0..REPLICAS {
            let port = free_port();
            let (args, envs) = replica_argv(&options, port, &public, portal.base_url(), &redis, &prefix);
            let mut replica = Replica {
                index,
                port,
                base: format!("http://127.0.0.1:{port}"),
                args,
                envs,
                log: dir.join(format!("replica-{index}.log")),
                proc: Proc(None),
            };
            replica.run();
            replicas.push(replica);
        }
        for r in &mut replicas {
            r.wait_ready().await;
        }
        let ports: Vec<u16> = replicas.iter().map(|r| r.port).collect();
        let nginx = Nginx::start(&programs.nginx, &dir, nginx_port, &ports);
        Self { public, portal, redis, replicas, nginx, dir }
    }

    /// The index of the replica listening at `addr` (`127.0.0.1:<port>`).
    pub fn replica_at(&self, addr: &str) -> Option<usize> {
        self.replicas.iter().position(|r| addr == format!("127.0.0.1:{}", r.port))
    }

    /// The replicas that answered `lines`, each once, in order of first appearance.
    pub fn replicas_of(&self, lines: &[Access]) -> Vec<usize> {
        let mut seen = Vec::new();
        for a in lines {
            if let Some(i) = self.replica_at(a.upstream())
                && !seen.contains(&i)
            {
                seen.push(i);
            }
        }
        seen
    }

    /// Every replica's log, and nginx's errors: for a failure's message.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for r in &self.replicas {
            out.push_str(&format!("--- replica {} (port {}):\n{}\n", r.index, r.port, tail(&r.log, 15)));
        }
        out.push_str(&format!("--- nginx errors:\n{}\n", self.nginx.errors()));
        out
    }
}

/// A replica's flags and environment: OAuth proxy (shared application)
/// before the sandbox's authorization server with nginx's URL as the public
/// one, per-request credentials for the sandbox allowed, two trusted proxy
/// hops from 127.0.0.1 (nginx, and the test that writes `X-Forwarded-For`
/// as a further proxy would), and the shared store. Secrets go in the
/// environment, as a deployment passes them.
fn replica_argv(
    options: &Options,
    port: u16,
    public: &str,
    portal: &str,
    redis: &Redis,
    prefix: &str,
) -> (Vec<String>, Vec<(String, String)>) {
    let mut args: Vec<String> = [
        "--transport",
        "http",
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--oauth-base-url",
        portal,
        "--server-base-url",
        public,
        "--oauth-client-id",
        sandbox::oauth::CLIENT_ID,
        "--allowed-base-urls",
        "127.0.0.1:*",
        "--allow-private-base-urls",
        "--proxy-hops",
        "2",
        "--trusted-proxies",
        "127.0.0.1/32",
        "--rate-limit",
        &options.rate_limit.0.to_string(),
        "--rate-window-ms",
        &options.rate_limit.1.to_string(),
    ]
    .map(String::from)
    .to_vec();
    // The OAuth endpoints' own limits are off: the checks sign in more often than a person would.
    for endpoint in
        ["server-metadata", "resource-metadata", "authorize", "callback", "introspect", "register", "revoke", "token"]
    {
        args.extend([format!("--oauth-{endpoint}-rate-limit"), "0".into()]);
    }
    let mut envs = vec![
        ("DOCSPACE_OAUTH_AUTH_TOKEN_SECRET_KEY".to_owned(), OAUTH_KEY.to_owned()),
        ("DOCSPACE_OAUTH_CLIENT_SECRET".to_owned(), sandbox::oauth::CLIENT_SECRET.to_owned()),
    ];
    // The store's URL may carry its password: the environment too.
    args.extend(["--state-prefix".into(), prefix.to_owned()]);
    envs.push(("DOCSPACE_STATE_URL".to_owned(), redis.url()));
    envs.push(("DOCSPACE_STATE_SECRET_KEY".to_owned(), STATE_KEY.to_owned()));
    (args, envs)
}
