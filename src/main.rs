//! The `docspace-mcp` binary: parse the command line, set up logging on
//! stderr, and run the command (serving MCP over stdio by default).

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use docspace_mcp::cli::{self, Cli, Command, SandboxArgs};
use docspace_mcp::config::{Config, ServeArgs, TransportKind};
use docspace_mcp::sandbox::{self, Sandbox};
use docspace_mcp::server::{DocSpaceServer, Selection, Setup};
use docspace_mcp::transport;
use tracing_subscriber::EnvFilter;

/// jemalloc returns freed memory to the system (glibc's malloc keeps it), so
/// the server shrinks back after a burst of sessions hibernates or closes.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Tools(command)) => {
            let stdout = std::io::stdout();
            match cli::run_tools(command, &mut stdout.lock()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            }
        }
        Some(Command::Serve(args)) => serve(*args),
        Some(Command::Sandbox(args)) => run_sandbox(*args),
        None => serve(cli.serve),
    }
}

fn fail(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("docspace-mcp: {e}");
    ExitCode::FAILURE
}

fn init_logging(level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::try_new(format!("warn,docspace_mcp={level},docspace_mcp_client={level}"))
            .unwrap_or_else(|_| EnvFilter::new("warn"))
    });
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(filter)
        .with_target(false)
        .init();
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()
}

/// More tools than this in `tools/list` deserves a warning: several clients pass
/// only the first ~40 tools to the model, and every tool costs context.
const MANY_TOOLS: usize = 80;

/// Logs what the server offers (and warns about a very large tool list).
fn announce(config: &Config, transport: TransportKind) {
    if !config.options.dynamic && config.tools.len() > MANY_TOOLS {
        let bytes: usize = config
            .tools
            .iter()
            .map(|t| t.input_schema.len() + t.output_schema.map_or(0, str::len) + t.description.len() + 200)
            .sum();
        tracing::warn!(
            "offering {} tools (about {} tokens of tool definitions); many clients pass only the first ~40 tools to the model. \
             Narrow the selection with DOCSPACE_TOOLSETS, or set DOCSPACE_DYNAMIC=1 to reach them all through six meta tools",
            config.tools.len(),
            bytes / 4
        );
    }
    if config.oauth && transport == TransportKind::Stdio {
        tracing::warn!(
            "DOCSPACE_OAUTH_BASE_URL is ignored over stdio: OAuth needs an HTTP transport (--transport http)"
        );
    }
    match &config.client {
        Ok(_) => tracing::info!(
            tools = config.tools.len(),
            dynamic = config.options.dynamic,
            read_only = config.options.read_only,
            portal = config.base_url.as_deref().unwrap_or_default(),
            auth = config.auth_method.unwrap_or_default(),
            "serving MCP over {}",
            if transport == TransportKind::Stdio { "stdio" } else { "HTTP" }
        ),
        Err(message) if transport == TransportKind::Stdio => {
            tracing::error!("not configured, every tool call will answer with this: {message}");
        }
        Err(_) if transport != TransportKind::Stdio && config.oauth => {
            tracing::info!(
                "each user signs in to DocSpace through the OAuth proxy (or sends credentials in X-Mcp-* headers)"
            );
        }
        Err(message) => tracing::info!(
            "no DocSpace connection of the server's own ({message}); each client brings its portal and credentials"
        ),
    }
}

/// Serves MCP on the configured transport.
async fn run(args: ServeArgs, config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let transport = args.http.transport;
    announce(&config, transport);
    if transport == TransportKind::Stdio {
        let max = config.max_message_bytes;
        let setup = Setup::new(Arc::new(Selection::new(config.tools, config.options)), config.client);
        transport::stdio::serve(DocSpaceServer::new(setup), max).await?;
    } else {
        if config.client.is_ok() && !is_loopback(&args.http.host) {
            tracing::warn!(
                "DocSpace credentials are configured and the server listens on {}: anyone who can reach it acts as that \
                 DocSpace user",
                args.http.host
            );
        }
        transport::http::serve(args, config).await?;
    }
    Ok(())
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn serve(args: ServeArgs) -> ExitCode {
    init_logging(&args.log_level);
    let config = match args.clone().into_config() {
        Ok(config) => config,
        Err(e) => return fail(&e),
    };
    let result = runtime().map_err(Into::into).and_then(|rt| rt.block_on(run(args, config)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// Points the OAuth proxy at the sandbox's authorization server, whose one
/// application gets this server's callback as its redirect URI.
fn sandbox_oauth(serve: &mut ServeArgs, portal: &Sandbox, own_client: bool) -> Result<(), Box<dyn std::error::Error>> {
    if serve.http.transport == TransportKind::Stdio {
        return Err("--oauth needs an HTTP transport: add --transport http (or streamable-http, sse)".into());
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
    oauth.oauth_secret_key = Some(format!("{}{}", oauth_key()?, oauth_key()?));
    if !own_client {
        oauth.oauth_client_id = Some(sandbox::oauth::CLIENT_ID.to_owned());
        oauth.oauth_client_secret = Some(sandbox::oauth::CLIENT_SECRET.to_owned());
    }
    tracing::info!(
        "OAuth: sign in as {} / {}{}",
        sandbox::USERNAME,
        sandbox::PASSWORD,
        if own_client {
            format!(
                "; clients enter the client id {} and secret {}",
                sandbox::oauth::CLIENT_ID,
                sandbox::oauth::CLIENT_SECRET
            )
        } else {
            String::new()
        }
    );
    Ok(())
}

fn oauth_key() -> Result<String, Box<dyn std::error::Error>> {
    docspace_mcp::oauth::pkce::verifier().map_err(|_| "the system's random source failed".into())
}

fn run_sandbox(args: SandboxArgs) -> ExitCode {
    init_logging(&args.serve.log_level);
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return fail(&e),
    };
    let result: Result<(), Box<dyn std::error::Error>> = rt.block_on(async move {
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
            tokio::signal::ctrl_c().await?;
            return Ok(());
        }
        let mut serve = args.serve;
        serve.base_url = Some(portal.base_url().to_owned());
        serve.api_key = Some(sandbox::API_KEY.to_owned());
        (serve.auth_token, serve.username, serve.password, serve.authorization) = (None, None, None, None);
        if args.oauth {
            sandbox_oauth(&mut serve, &portal, args.oauth_own_client)?;
        }
        let config = serve.clone().into_config()?;
        run(serve, config).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}
