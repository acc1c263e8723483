//! The `docspace-mcp` binary: parse the command line, set up logging on
//! stderr, and run the command ([`docspace_mcp::run`]).

use std::process::ExitCode;

use docspace_mcp::Cli;
use tracing_subscriber::EnvFilter;

/// jemalloc returns freed memory to the system (glibc's malloc keeps it), so
/// the server shrinks back after a burst of sessions hibernates or closes.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::from_env();
    init_logging(docspace_mcp::log_level(&cli));
    for warning in docspace_mcp::environment_warnings() {
        tracing::warn!("{warning}");
    }
    // Not `stdout().lock()`: over stdio the transport writes to stdout for
    // the whole run, and a lock held here would block it.
    match docspace_mcp::run(cli, &mut std::io::stdout()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("docspace-mcp: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr (stdout is the protocol over stdio); RUST_LOG overrides the level.
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
        .fmt_fields(docspace_mcp::logging::fields())
        .init();
}
