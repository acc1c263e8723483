//! MCP over stdin/stdout: stdout carries only protocol messages (logs go to
//! stderr), and end of input ends the server with success.

use rmcp::ServiceExt;
use rmcp::transport::async_rw::AsyncRwTransport;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::server::DocSpaceServer;

/// Serves `server` on stdin/stdout until the client closes stdin. A message
/// longer than `max_message_bytes` is dropped by the transport (and logged):
/// uploads travel as one base64 line, so the limit sets the largest upload.
pub async fn serve(server: DocSpaceServer, max_message_bytes: usize) -> Result<(), std::io::Error> {
    let (stdin, stdout) = rmcp::transport::stdio();
    serve_streams(server, stdin, stdout, max_message_bytes).await
}

/// [`serve`] over any pair of streams, one JSON-RPC message a line, until
/// `input` ends (the fuzz tests drive it over an in-memory pipe).
pub async fn serve_streams<R, W>(
    server: DocSpaceServer,
    input: R,
    output: W,
    max_message_bytes: usize,
) -> Result<(), std::io::Error>
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let transport = AsyncRwTransport::new_server(input, output).with_max_line_length(max_message_bytes);
    let running = server.serve(transport).await.map_err(std::io::Error::other)?;
    let reason = running.waiting().await.map_err(std::io::Error::other)?;
    tracing::info!(?reason, "stdio session ended");
    Ok(())
}
