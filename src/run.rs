//! Running a parsed command line: the `tools` commands, serving MCP on the
//! configured transport, and the sandbox (the embedded portal, with the
//! server pointed at it). `main` only parses, sets up logging and calls
//! [`run`]; everything here can be called from tests in-process.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use crate::cli::{self, Cli, Command, SandboxArgs};
use crate::config::{self, Config, ServeArgs, TransportKind};
use crate::sandbox::{self, Sandbox};
use crate::server::{DocSpaceServer, Selection, Setup};
use crate::spans::Tracing;
use crate::transport;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is wrong.
    #[error(transparent)]
    Config(#[from] config::Error),
    /// The HTTP server could not start or serve.
    #[error(transparent)]
    Http(#[from] transport::http::Error),
    /// A `tools` command failed.
    #[error(transparent)]
    Tools(#[from] cli::Error),
    /// The span exporter could not be built.
    #[error(transparent)]
    Spans(#[from] crate::spans::Error),
    /// The runtime, stdio or the sandbox failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The log level the command line asks for (`DOCSPACE_LOG_LEVEL`).
pub fn log_level(cli: &Cli) -> &str {
    &serve_args(cli).log_level
}

/// Whether the command line asks for JSON log lines (`DOCSPACE_LOG_FORMAT=json`).
pub fn json_logs(cli: &Cli) -> bool {
    serve_args(cli).log_format == config::LogFormat::Json
}

fn serve_args(cli: &Cli) -> &ServeArgs {
    match &cli.command {
        Some(Command::Serve(args)) => args,
        Some(Command::Sandbox(args)) => &args.serve,
        Some(Command::Tools(_)) | None => &cli.serve,
    }
}

/// Runs the command `cli` names; `stdout` receives the `tools` commands' output.
pub fn run(cli: Cli, stdout: &mut dyn std::io::Write) -> Result<(), Error> {
    match cli.command {
        Some(Command::Tools(command)) => Ok(cli::run_tools(command, stdout)?),
        Some(Command::Serve(args)) => block_on(serve(Config::from_args(*args)?)),
        Some(Command::Sandbox(args)) => block_on(run_sandbox(*args)),
        None => block_on(serve(Config::from_args(cli.serve)?)),
    }
}

fn block_on(work: impl Future<Output = Result<(), Error>>) -> Result<(), Error> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?.block_on(work)
}

/// More tools than this in `tools/list` deserves a warning: several clients pass
/// only the first ~40 tools to the model, and every tool costs context.
const MANY_TOOLS: usize = 80;

/// Logs what the server offers, and the configuration's warnings.
fn announce(config: &Config) {
    let tools = &config.tools;
    if !tools.options.dynamic && tools.tools.len() > MANY_TOOLS {
        let bytes: usize = tools.tools.iter().map(|t| t.mcp.len()).sum();
        tracing::warn!(
            "offering {} tools (about {} tokens of tool definitions); many clients pass only the first ~40 tools to the model. \
             Narrow the selection with DOCSPACE_TOOLSETS, or set DOCSPACE_DYNAMIC=1 to reach them all through six meta tools",
            tools.tools.len(),
            bytes / 4
        );
    }
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    if let Some(problem) = &tools.problem {
        tracing::error!(
            "the tool selection is not valid; the default tools are listed and every tool call will answer with \
             this: {problem}"
        );
    }
    let stdio = config.transport == TransportKind::Stdio;
    let oauth = config.http.as_ref().is_some_and(|h| h.oauth.is_some());
    match &config.portal.client {
        Ok(_) => tracing::info!(
            tools = tools.tools.len(),
            dynamic = tools.options.dynamic,
            read_only = tools.options.read_only,
            portal = config.portal.base_url.as_deref().unwrap_or_default(),
            auth = config.portal.auth_method.unwrap_or_default(),
            "serving MCP over {}",
            if stdio { "stdio" } else { "HTTP" }
        ),
        Err(message) if stdio => {
            tracing::error!("not configured, every tool call will answer with this: {message}");
        }
        Err(message) if config.portal.broken => tracing::error!(
            "the server's own DocSpace connection is misconfigured, and every request without credentials of \
             its own will be refused with this: {message}"
        ),
        Err(_) if oauth => tracing::info!(
            "each user signs in to DocSpace through the OAuth proxy (or sends credentials in X-Mcp-* headers)"
        ),
        Err(message) => tracing::info!(
            "no DocSpace connection of the server's own ({message}); each client brings its portal and credentials"
        ),
    }
}

/// Serves MCP on the configured transport.
pub async fn serve(config: Config) -> Result<(), Error> {
    announce(&config);
    if config.transport != TransportKind::Stdio {
        return Ok(transport::http::serve(config).await?);
    }
    let Config { tools, portal, max_message_bytes, otlp, extension, .. } = config;
    let mut selection = Selection::new(tools.tools, tools.options);
    if let Some(problem) = tools.problem {
        selection = selection.unusable(problem);
    }
    let setup = Setup::new(Arc::new(selection), portal.client);
    let spans = otlp.as_ref().map(Tracing::start).transpose()?;
    let server = DocSpaceServer::new(setup).with_tracer(spans.as_ref().map(Tracing::tracer)).with_extension(extension);
    let served = transport::stdio::serve(server, max_message_bytes).await;
    if let Some(spans) = spans {
        // The last spans are exported before the exit.
        spans.shutdown().await;
    }
    Ok(served?)
}

/// `docspace-mcp sandbox`: the embedded portal, and the server pointed at it.
async fn run_sandbox(args: SandboxArgs) -> Result<(), Error> {
    let portal = Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, args.portal_port))).await?;
    tracing::info!(
        "sandbox portal at {} (API key {}, token {}, user {} / {})",
        portal.base_url(),
        sandbox::API_KEY,
        sandbox::AUTH_TOKEN,
        sandbox::USERNAME,
        sandbox::PASSWORD
    );
    if args.portal_only {
        transport::http::signal().await;
        return Ok(());
    }
    let own_client = args.oauth_own_client;
    let serve_args = sandbox_preset(args.serve, &portal, args.oauth.then_some(own_client))?;
    serve(Config::from_args(serve_args)?).await
}

/// The server's settings pointed at the sandbox portal: its address and API
/// key, or with `oauth` (`Some(own_client)`) its authorization server, whose
/// one application gets this server's callback as its redirect URI.
fn sandbox_preset(mut serve: ServeArgs, portal: &Sandbox, oauth: Option<bool>) -> Result<ServeArgs, Error> {
    serve.base_url = Some(portal.base_url().to_owned());
    (serve.auth_token, serve.username, serve.password, serve.authorization) = (None, None, None, None);
    let Some(own_client) = oauth else {
        serve.api_key = Some(crate::auth::Secret::new(sandbox::API_KEY));
        return Ok(serve);
    };
    if serve.http.transport == TransportKind::Stdio {
        return Err(config::Error::OAuthNeedsHttp.into());
    }
    serve.api_key = None;
    if serve.http.port == 0 {
        // The callback URL must be known before the server starts.
        serve.http.port = std::net::TcpListener::bind((serve.http.host.as_str(), 0))?.local_addr()?.port();
    }
    let host = if serve.http.host.contains(':') { format!("[{}]", serve.http.host) } else { serve.http.host.clone() };
    let server = format!("http://{host}:{}", serve.http.port);
    portal.allow_oauth_redirect(&format!("{server}/oauth/callback"));
    let oauth = &mut serve.http.oauth;
    oauth.oauth_base_url = Some(portal.base_url().to_owned());
    oauth.server_base_url = Some(server);
    oauth.oauth_secret_key = Some(crate::auth::Secret::new(format!("{}{}", random_key()?, random_key()?)));
    if !own_client {
        oauth.oauth_client_id = Some(sandbox::oauth::CLIENT_ID.to_owned());
        oauth.oauth_client_secret = Some(crate::auth::Secret::new(sandbox::oauth::CLIENT_SECRET));
    }
    let own = if own_client {
        format!(
            "; clients enter the client id {} and secret {}",
            sandbox::oauth::CLIENT_ID,
            sandbox::oauth::CLIENT_SECRET
        )
    } else {
        String::new()
    };
    tracing::info!("OAuth: sign in as {} / {}{own}", sandbox::USERNAME, sandbox::PASSWORD);
    Ok(serve)
}

fn random_key() -> Result<String, Error> {
    crate::oauth::pkce::verifier().map_err(|_| Error::Io(std::io::Error::other("the system's random source failed")))
}
