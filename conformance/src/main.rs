//! `docspace-mcp-conformance`: the server as `docspace-mcp sandbox
//! --transport http` serves it (the embedded sandbox portal, the default
//! tool selection, every HTTP layer), plus the official MCP conformance
//! suite's fixture tools, resources and prompts, added through
//! [`docspace_mcp::Extension`]. Test-only: the suite's scenarios call
//! fixtures by name (`test_simple_text`, `test://static-text`, …), which no
//! user should ever see, so they live in this crate and never in the
//! `docspace-mcp` binary.
//!
//! Usage: `docspace-mcp-conformance [PORT]` (0 or none: a free port). It
//! prints the MCP endpoint's URL on stdout once it is about to listen, and
//! serves until SIGTERM or Ctrl-C. Authentication is off (the suite has no
//! flag for it); the server's own checks (Host, Origin, sizes) are on.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;

use docspace_mcp::sandbox::{self, Sandbox};

mod fixtures;

fn main() -> ExitCode {
    let port = match std::env::args().nth(1).map(|p| p.parse::<u16>()).transpose() {
        Ok(port) => port.unwrap_or(0),
        Err(e) => {
            eprintln!("docspace-mcp-conformance: the port must be a number from 0 to 65535 ({e})");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("docspace-mcp-conformance: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(port)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("docspace-mcp-conformance: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(port: u16) -> Result<(), Box<dyn std::error::Error>> {
    let portal = Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
    let port = match port {
        0 => std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port(),
        port => port,
    };
    let port = port.to_string();
    let cli = docspace_mcp::parse_from([
        "docspace-mcp",
        "--transport",
        "http",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--base-url",
        portal.base_url(),
        "--api-key",
        sandbox::API_KEY,
        // The suite sends hundreds of requests from one address in seconds.
        "--rate-limit",
        "0",
    ])?;
    let mut config = docspace_mcp::Config::from_args(cli.serve)?;
    config.extension = Some(Arc::new(fixtures::Fixtures::new()?));
    #[allow(clippy::print_stdout)]
    {
        println!("http://127.0.0.1:{port}/mcp");
    }
    docspace_mcp::serve(config).await?;
    Ok(())
}
