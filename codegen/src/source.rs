//! Where the build gets the DocSpace description from, and the pin that says
//! which one it should be (`openapi/spec.lock`).
//!
//! Order: `$DOCSPACE_OPENAPI`, then `openapi/docspace.yaml`, then the pinned
//! file in one of the folders the caller names beside the checkout (a file
//! there counts only when its sha256 is the pinned one), then (unless
//! offline) a download of the pinned URL, verified against the pinned
//! sha256 and stored as `openapi/docspace.yaml`. A file the user supplies
//! whose checksum differs from the pin is used with a warning, because
//! regenerating on a newer description is a feature; a *download* that does
//! not match stops the build.
//!
//! The caller (build.rs) passes environment values in through [`Settings`],
//! so everything here is testable without touching the process environment.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// Largest description the downloader accepts.
pub const MAX_DOWNLOAD_BYTES: u64 = 64 * 1024 * 1024;
/// Timeout of the whole download.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(120);

/// `openapi/spec.lock`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    /// DocSpace API version (`info.version`).
    pub version: String,
    /// Where the pinned file is published.
    pub url: String,
    /// Lower-case hex sha256 of the file.
    pub sha256: String,
}

impl Lock {
    /// Parses the lock file.
    pub fn parse(text: &str) -> Result<Self> {
        let lock: Lock = toml::from_str(text).map_err(|e| Error::Source(format!("openapi/spec.lock: {e}")))?;
        if lock.sha256.len() != 64 || !lock.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::Source("openapi/spec.lock: `sha256` must be 64 hex digits".into()));
        }
        Ok(lock)
    }
}

/// What the build script read from its environment.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The workspace root (relative paths are resolved against it).
    pub root: PathBuf,
    /// `$DOCSPACE_OPENAPI`.
    pub env_path: Option<String>,
    /// `$DOCSPACE_OPENAPI_URL`: download from here instead of the pinned URL.
    pub url_override: Option<String>,
    /// `$DOCSPACE_OPENAPI_OFFLINE` is set to a true value: never download.
    pub offline: bool,
    /// Folders that may hold the pinned file under any name (e.g. the
    /// workspace's `../shared/openapi/`); a file there is used only when its
    /// sha256 is the pinned one.
    pub pinned_dirs: Vec<PathBuf>,
}

/// Where the description came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `$DOCSPACE_OPENAPI`.
    Env,
    /// `openapi/docspace.yaml`, already present.
    Default,
    /// The pinned file, found in one of [`Settings::pinned_dirs`].
    Pinned,
    /// Downloaded into `openapi/docspace.yaml` by this build.
    Downloaded,
}

/// The description the build uses.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Its path (to watch for changes).
    pub path: PathBuf,
    /// Its text.
    pub text: String,
    /// Where it came from.
    pub origin: Origin,
    /// Its sha256.
    pub sha256: String,
    /// Set when the file differs from the pin: say so, but go on.
    pub warning: Option<String>,
}

/// The default location of the description, relative to the workspace root.
pub const DEFAULT_PATH: &str = "openapi/docspace.yaml";

/// Finds, or fetches, the description.
pub fn resolve(settings: &Settings, lock: &Lock) -> Result<Resolved> {
    if let Some(p) = settings.env_path.as_deref().filter(|p| !p.trim().is_empty()) {
        let path = settings.root.join(p);
        if !path.is_file() {
            return Err(Error::Source(format!(
                "DOCSPACE_OPENAPI is set to {p}, but {} is not a file. Point it at a DocSpace OpenAPI description \
                 (the pinned one is {} , sha256 {}), or unset it to use {DEFAULT_PATH}.",
                path.display(),
                lock.url,
                lock.sha256
            )));
        }
        return read_local(path, Origin::Env, lock);
    }
    let default = settings.root.join(DEFAULT_PATH);
    if default.is_file() {
        return read_local(default, Origin::Default, lock);
    }
    if let Some(found) = find_pinned(&settings.pinned_dirs, lock) {
        return Ok(found);
    }
    if settings.offline {
        return Err(Error::Source(format!(
            "no DocSpace OpenAPI description: DOCSPACE_OPENAPI is not set, {DEFAULT_PATH} does not exist, and \
             DOCSPACE_OPENAPI_OFFLINE forbids downloading it. Download {} (sha256 {}) and set \
             DOCSPACE_OPENAPI=/path/to/it, or save it as {DEFAULT_PATH}.",
            lock.url, lock.sha256
        )));
    }
    let url = settings.url_override.as_deref().filter(|u| !u.trim().is_empty()).unwrap_or(&lock.url);
    let bytes = download(url).map_err(|e| Error::Source(format!("{e}\n{}", offline_hint(lock))))?;
    let sum = sha256_hex(&bytes);
    if sum != lock.sha256.to_ascii_lowercase() {
        return Err(Error::Source(format!(
            "the DocSpace OpenAPI description downloaded from {url} has sha256 {sum}, but openapi/spec.lock pins {} \
             (DocSpace {}). Nothing was written.\n{}",
            lock.sha256,
            lock.version,
            offline_hint(lock)
        )));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::Source(format!("the file downloaded from {url} is not UTF-8 text")))?;
    write_atomically(&default, text.as_bytes())?;
    Ok(Resolved { path: default, text, origin: Origin::Downloaded, sha256: sum, warning: None })
}

/// The first file in `dirs` (sorted by name; not recursive) whose sha256 is
/// the pinned one. Unreadable folders and files are skipped: this is a
/// shortcut before downloading, never a reason to fail.
fn find_pinned(dirs: &[PathBuf], lock: &Lock) -> Option<Resolved> {
    let pinned = lock.sha256.to_ascii_lowercase();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths.into_iter().filter(|p| p.is_file()) {
            let Ok(bytes) = std::fs::read(&path) else { continue };
            if sha256_hex(&bytes) != pinned {
                continue;
            }
            let Ok(text) = String::from_utf8(bytes) else { continue };
            return Some(Resolved { path, text, origin: Origin::Pinned, sha256: pinned, warning: None });
        }
    }
    None
}

fn offline_hint(lock: &Lock) -> String {
    format!(
        "To build offline, download {} yourself (sha256 {}) and set DOCSPACE_OPENAPI=/path/to/docspace.yaml, \
         or save it as {DEFAULT_PATH}.",
        lock.url, lock.sha256
    )
}

fn read_local(path: PathBuf, origin: Origin, lock: &Lock) -> Result<Resolved> {
    let bytes = std::fs::read(&path).map_err(|e| Error::Source(format!("cannot read {}: {e}", path.display())))?;
    let sha256 = sha256_hex(&bytes);
    let text = String::from_utf8(bytes).map_err(|_| Error::Source(format!("{} is not UTF-8 text", path.display())))?;
    let warning = (sha256 != lock.sha256.to_ascii_lowercase()).then(|| {
        let version = crate::spec::parse(&text)
            .ok()
            .and_then(|d| crate::spec::api_version(&d).map(str::to_owned))
            .unwrap_or_else(|| "unknown".into());
        format!(
            "{} is DocSpace API {version} (sha256 {sha256}), not the pinned DocSpace {} (sha256 {}). \
             Generating from it anyway; update openapi/spec.lock if this is the new baseline.",
            path.display(),
            lock.version,
            lock.sha256
        )
    });
    Ok(Resolved { path, text, origin, sha256, warning })
}

/// Downloads `url` (http or https) with a size and time limit.
pub fn download(url: &str) -> Result<Vec<u8>> {
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(DOWNLOAD_TIMEOUT))
        .http_status_as_error(false)
        .user_agent(concat!("docspace-mcp-build/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent();
    let mut response = agent
        .get(url)
        .call()
        .map_err(|e| Error::Source(format!("downloading the DocSpace OpenAPI description from {url} failed: {e}")))?;
    let status = response.status();
    if !status.is_success() {
        return Err(Error::Source(format!(
            "downloading the DocSpace OpenAPI description from {url} failed: HTTP {status}"
        )));
    }
    response.body_mut().with_config().limit(MAX_DOWNLOAD_BYTES).read_to_vec().map_err(|e| {
        Error::Source(format!("downloading the DocSpace OpenAPI description from {url} failed while reading: {e}"))
    })
}

/// Lower-case hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes through a temporary file and a rename, so a concurrent build never
/// reads half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".docspace.yaml.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::Source(format!("cannot write {}: {e}", path.display()))
    })
}

/// Parses the usual spellings of a boolean environment value
/// (`1/true/yes/y/on`), like the reference server.
pub fn truthy(value: Option<&str>) -> bool {
    value.is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "y" | "on"))
}
