//! What the benches need of the server process.

/// The `docspace-mcp` binary under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_docspace-mcp");

/// A process's resident memory, in KiB (0 when unknown).
pub(crate) fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}
