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
    init_logging(docspace_mcp::log_level(&cli), docspace_mcp::json_logs(&cli));
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
/// `json`: one JSON object per line (`timestamp`, `level`, `message` and the
/// event's fields at the top level), whose string escaping already keeps a
/// value from starting a forged line.
fn init_logging(level: &str, json: bool) {
    use tracing_subscriber::prelude::*;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::try_new(format!("warn,docspace_mcp={level},docspace_mcp_client={level}"))
            .unwrap_or_else(|_| EnvFilter::new("warn"))
    });
    // rmcp warns of every JSON-RPC error the server answers with ("response
    // error": an unknown tool, a client's probe for resources or prompts).
    // They are the client's mistakes, not the server's trouble: shown at
    // debug only (RUST_LOG=rmcp=debug or DOCSPACE_LOG_LEVEL=debug).
    let verbose = matches!(level, "debug" | "trace") || std::env::var_os("RUST_LOG").is_some();
    let answered_errors = tracing_subscriber::filter::filter_fn(move |meta| verbose || !is_rmcp_error_answer(meta));
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(false).with_target(false);
    let layer = if json {
        layer.json().flatten_event(true).with_current_span(false).with_span_list(false).boxed()
    } else {
        layer.fmt_fields(docspace_mcp::logging::fields()).boxed()
    };
    tracing_subscriber::registry().with(layer.with_filter(filter).with_filter(answered_errors)).init();
}

/// rmcp's warning for an error answer it sends (target `rmcp::service`,
/// fields `id` and `error`; its other warnings have one or neither).
fn is_rmcp_error_answer(meta: &tracing::Metadata<'_>) -> bool {
    meta.target() == "rmcp::service"
        && *meta.level() == tracing::Level::WARN
        && meta.fields().field("id").is_some()
        && meta.fields().field("error").is_some()
}
