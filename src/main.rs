//! The `docspace-mcp` binary: parse the command line and run it.

use clap::Parser;
use docspace_mcp::cli::{self, Cli};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    cli::run(cli, &mut stdout.lock())?;
    Ok(())
}
