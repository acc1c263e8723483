//! Test servers, in this process on 127.0.0.1, of every HTTP mode: with the
//! sandbox as the operator's own portal or without a portal of their own,
//! with the OAuth proxy in front of the sandbox's authorization server
//! (shared application or users' own), and any extra flags.
//!
//! ```ignore
//! let s = TestServer::builder().operator().args(&["--toolsets", "rooms"]).start().await;
//! let o = TestServer::builder().oauth(OAuth::Shared).start().await;
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use clap::Parser;
use docspace_mcp::Cli;
use docspace_mcp::Config;
use docspace_mcp::http::{self, AppState, Overrides};
use docspace_mcp::sandbox::{self, Sandbox};
use tokio_util::sync::CancellationToken;

use super::oauth::KEY;

/// The OAuth proxy's registration mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuth {
    /// The server has the sandbox's application; clients register.
    Shared,
    /// Clients bring the application's id and secret.
    Own,
}

/// A running server; it stops when dropped.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The sandbox portal beside it.
    pub portal: Arc<Sandbox>,
    /// The server's state (kept alive with it).
    pub state: Arc<AppState>,
    stop: CancellationToken,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// How to start a [`TestServer`].
#[derive(Default)]
pub struct Builder {
    operator: bool,
    oauth: Option<OAuth>,
    portal: Option<Arc<Sandbox>>,
    args: Vec<String>,
    overrides: Overrides,
}

impl TestServer {
    /// The Streamable HTTP endpoint, `<base>/mcp`.
    pub fn mcp(&self) -> String {
        format!("{}/mcp", self.base)
    }

    /// A server over both HTTP transports with no portal of its own, no OAuth.
    pub fn builder() -> Builder {
        Builder::default()
    }
}

impl Builder {
    /// The sandbox is the operator's own portal (with its API key).
    pub fn operator(mut self) -> Self {
        self.operator = true;
        self
    }

    /// [`Builder::operator`] when `yes`.
    pub fn operator_if(mut self, yes: bool) -> Self {
        self.operator = yes;
        self
    }

    /// The OAuth proxy on, in `mode`, in front of the sandbox's authorization
    /// server. Its endpoints' rate limits are off unless the flags set them:
    /// the suites make more requests from 127.0.0.1 than a person would.
    pub fn oauth(mut self, mode: OAuth) -> Self {
        self.oauth = Some(mode);
        self
    }

    /// Use `portal` rather than a new sandbox (e.g. a second replica).
    pub fn portal(mut self, portal: Option<Arc<Sandbox>>) -> Self {
        self.portal = portal;
        self
    }

    /// Extra flags (they win over the defaults set here).
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    /// Parts of the server supplied by the test.
    pub fn overrides(mut self, overrides: Overrides) -> Self {
        self.overrides = overrides;
        self
    }

    /// The command line this builder stands for.
    fn argv(&self, portal: &Sandbox, base: &str) -> Vec<String> {
        let mut argv: Vec<String> = ["docspace-mcp", "--transport", "http"].map(String::from).to_vec();
        if self.operator {
            argv.extend([
                "--base-url".into(),
                portal.base_url().to_owned(),
                "--api-key".into(),
                sandbox::API_KEY.into(),
            ]);
        }
        if let Some(mode) = self.oauth {
            let defaults = [
                ("--oauth-base-url", portal.base_url()),
                ("--server-base-url", base),
                ("--oauth-secret-key", KEY),
                ("--oauth-server-metadata-rate-limit", "0"),
                ("--oauth-resource-metadata-rate-limit", "0"),
                ("--oauth-authorize-rate-limit", "0"),
                ("--oauth-callback-rate-limit", "0"),
                ("--oauth-introspect-rate-limit", "0"),
                ("--oauth-register-rate-limit", "0"),
                ("--oauth-revoke-rate-limit", "0"),
                ("--oauth-token-rate-limit", "0"),
            ];
            for (flag, value) in defaults {
                if !self.args.iter().any(|a| a == flag) {
                    argv.extend([flag.to_owned(), value.to_owned()]);
                }
            }
            if mode == OAuth::Shared {
                argv.extend([
                    "--oauth-client-id".into(),
                    sandbox::oauth::CLIENT_ID.into(),
                    "--oauth-client-secret".into(),
                    sandbox::oauth::CLIENT_SECRET.into(),
                ]);
            }
        }
        argv.extend(self.args.iter().cloned());
        argv
    }

    /// Starts the server (and a sandbox portal, unless one was given).
    pub async fn start(self) -> TestServer {
        let portal = match &self.portal {
            Some(p) => p.clone(),
            None => Arc::new(Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.unwrap()),
        };
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        if self.oauth.is_some() {
            portal.allow_oauth_redirect(&format!("{base}/oauth/callback"));
        }
        let argv = self.argv(&portal, &base);
        let config = Config::from_args(Cli::try_parse_from(argv).unwrap().serve).unwrap();
        let stop = CancellationToken::new();
        let limits = config.http.as_ref().unwrap().connections.clone();
        let (app, state) = http::app(config, stop.clone(), self.overrides).unwrap();
        let until = stop.clone();
        tokio::spawn(async move {
            http::serve_on(listener, app, &limits, async move { until.cancelled().await }).await.unwrap();
        });
        TestServer { base, portal, state, stop }
    }
}
