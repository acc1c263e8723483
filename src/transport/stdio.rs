//! MCP over stdin/stdout: stdout carries only protocol messages (logs go to
//! stderr), and end of input ends the server with success.

use rmcp::ServiceExt;

use crate::server::DocSpaceServer;

/// Serves `server` on stdin/stdout until the client closes stdin.
pub async fn serve(server: DocSpaceServer) -> Result<(), std::io::Error> {
    let running = server.serve(rmcp::transport::stdio()).await.map_err(std::io::Error::other)?;
    let reason = running.waiting().await.map_err(std::io::Error::other)?;
    tracing::info!(?reason, "stdio session ended");
    Ok(())
}
