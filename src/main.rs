//! The `docspace-mcp` binary: parse the command line, set up logging on
//! stderr, and run the command (serving MCP over stdio by default).

use std::process::ExitCode;

use clap::Parser;
use docspace_mcp::cli::{self, Cli, Command};
use docspace_mcp::config::ServeArgs;
use docspace_mcp::server::DocSpaceServer;
use docspace_mcp::transport;
use tracing_subscriber::EnvFilter;

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

fn serve(args: ServeArgs) -> ExitCode {
    init_logging(&args.log_level);
    let config = match args.into_config() {
        Ok(config) => config,
        Err(e) => return fail(&e),
    };
    match &config.client {
        Ok(_) => tracing::info!(
            tools = config.tools.len(),
            portal = config.base_url.as_deref().unwrap_or_default(),
            auth = config.auth_method.unwrap_or_default(),
            "serving MCP over stdio"
        ),
        Err(message) => tracing::error!("not configured, every tool call will answer with this: {message}"),
    }
    let server = DocSpaceServer::new(config.tools, config.client);
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&e),
    };
    match runtime.block_on(transport::stdio::serve(server)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}
