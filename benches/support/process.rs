//! What the benches need of the server process.

/// The `docspace-mcp` binary under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_docspace-mcp");

/// Starts `bin` (the server under test, or another build of it) over HTTP on
/// a free port with `settings` as its only environment (plus the caller's
/// `MALLOC_*`); the process and the URL it logged (`http://127.0.0.1:…`).
#[allow(dead_code)] // not every bench serves HTTP
pub(crate) fn http_server(bin: &str, settings: &[(&str, &str)]) -> (std::process::Child, String) {
    use std::io::{BufRead as _, BufReader};
    use std::process::{Command, Stdio};

    let mut cmd = Command::new(bin);
    cmd.env_clear();
    for (k, v) in std::env::vars().filter(|(k, _)| k.starts_with("MALLOC_")) {
        cmd.env(k, v);
    }
    cmd.args(["--transport", "http"]).env("DOCSPACE_PORT", "0").env("DOCSPACE_LOG_LEVEL", "info");
    cmd.envs(settings.iter().copied());
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("the server logs its address").unwrap();
        if let Some(rest) = line.split("serving MCP over HTTP on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
    (child, url)
}

/// A process's resident memory, in KiB (0 when unknown).
pub(crate) fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS:")
}

/// A process's peak resident memory, in KiB (0 when unknown).
#[allow(dead_code)] // not every bench reads it
pub(crate) fn hwm_kib(pid: u32) -> u64 {
    status_kib(pid, "VmHWM:")
}

/// A `kB` line of `/proc/<pid>/status`.
fn status_kib(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The CPU time a process has used so far (user + system), in seconds.
#[allow(dead_code)] // not every bench reads it
pub(crate) fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name (which may contain spaces) start at `state`;
    // utime and stime are the 14th and 15th fields of the whole line.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) as f64 / clock_ticks()
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux unless configured otherwise).
fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}
