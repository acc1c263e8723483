//! Finding and fetching the description (openapi/spec.lock): a local HTTP
//! server on 127.0.0.1 stands in for the upstream URL.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use docspace_mcp_codegen::source::{self, Lock, Origin, Settings, sha256_hex};

const SPEC: &str = "openapi: 3.0.4\ninfo: {title: t, version: 1.2.3}\npaths: {}\n";

/// Serves `status` and `body` to every connection; counts connections.
fn serve(status: &'static str, body: &'static str) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api/openapi.yaml", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, hits)
}

fn lock(url: &str, sha: &str) -> Lock {
    Lock { version: "1.2.3".into(), url: url.into(), sha256: sha.into() }
}

fn settings(root: &std::path::Path) -> Settings {
    std::fs::create_dir_all(root.join("openapi")).unwrap();
    Settings { root: root.to_path_buf(), env_path: None, url_override: None, offline: false, pinned_dirs: Vec::new() }
}

#[test]
fn downloads_verifies_and_stores_the_pinned_file() {
    let dir = tempfile::tempdir().unwrap();
    let (url, hits) = serve("200 OK", SPEC);
    let r = source::resolve(&settings(dir.path()), &lock(&url, &sha256_hex(SPEC.as_bytes()))).unwrap();
    assert_eq!(r.origin, Origin::Downloaded);
    assert_eq!(r.text, SPEC);
    assert!(r.warning.is_none());
    assert_eq!(std::fs::read_to_string(dir.path().join("openapi/docspace.yaml")).unwrap(), SPEC);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // The next build uses the stored file and does not download again.
    let again = source::resolve(&settings(dir.path()), &lock(&url, &sha256_hex(SPEC.as_bytes()))).unwrap();
    assert_eq!(again.origin, Origin::Default);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[test]
fn a_wrong_checksum_stops_the_build_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _) = serve("200 OK", SPEC);
    let pinned = "0".repeat(64);
    let e = source::resolve(&settings(dir.path()), &lock(&url, &pinned)).unwrap_err().to_string();
    assert!(e.contains(&pinned) && e.contains(&sha256_hex(SPEC.as_bytes())), "names both sums: {e}");
    assert!(e.contains("DOCSPACE_OPENAPI="), "says how to build offline: {e}");
    assert!(!dir.path().join("openapi/docspace.yaml").exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("openapi")).unwrap().collect();
    assert!(leftovers.is_empty(), "no temporary files left");
}

#[test]
fn a_server_that_is_down_gives_the_offline_hint() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}/openapi.yaml");
    let e = source::resolve(&settings(dir.path()), &lock(&url, &"a".repeat(64))).unwrap_err().to_string();
    assert!(e.contains(&url), "{e}");
    assert!(e.contains("To build offline") && e.contains("DOCSPACE_OPENAPI="), "{e}");
}

#[test]
fn an_http_error_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _) = serve("404 Not Found", "nope");
    let e = source::resolve(&settings(dir.path()), &lock(&url, &"a".repeat(64))).unwrap_err().to_string();
    assert!(e.contains("404"), "{e}");
}

#[test]
fn the_url_can_be_overridden() {
    let dir = tempfile::tempdir().unwrap();
    let (url, hits) = serve("200 OK", SPEC);
    let mut s = settings(dir.path());
    s.url_override = Some(url);
    let r = source::resolve(&s, &lock("http://127.0.0.1:9/never", &sha256_hex(SPEC.as_bytes()))).unwrap();
    assert_eq!(r.origin, Origin::Downloaded);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[test]
fn offline_forbids_the_download() {
    let dir = tempfile::tempdir().unwrap();
    let (url, hits) = serve("200 OK", SPEC);
    let mut s = settings(dir.path());
    s.offline = true;
    let e = source::resolve(&s, &lock(&url, &sha256_hex(SPEC.as_bytes()))).unwrap_err().to_string();
    assert!(e.contains("DOCSPACE_OPENAPI_OFFLINE") && e.contains(&url), "{e}");
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[test]
fn env_path_wins_and_a_mismatch_only_warns() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    std::fs::write(dir.path().join("openapi/docspace.yaml"), "not this one").unwrap();
    std::fs::write(dir.path().join("newer.yaml"), SPEC).unwrap();
    s.env_path = Some("newer.yaml".into());
    let r = source::resolve(&s, &lock("http://127.0.0.1:9/never", &"b".repeat(64))).unwrap();
    assert_eq!(r.origin, Origin::Env);
    assert_eq!(r.text, SPEC);
    let w = r.warning.expect("a checksum mismatch warns");
    assert!(w.contains("1.2.3") && w.contains(&"b".repeat(64)) && w.contains(&sha256_hex(SPEC.as_bytes())), "{w}");
}

#[test]
fn a_missing_env_path_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.env_path = Some("nowhere.yaml".into());
    let e = source::resolve(&s, &lock("http://127.0.0.1:9/x", &"c".repeat(64))).unwrap_err().to_string();
    assert!(e.contains("DOCSPACE_OPENAPI is set to nowhere.yaml"), "{e}");
}

#[test]
fn lock_files_are_validated() {
    assert!(Lock::parse("version = \"1\"\nurl = \"u\"\nsha256 = \"abc\"\n").is_err());
    assert!(Lock::parse("version = \"1\"\nurl = \"u\"\n").is_err());
    let text = std::fs::read_to_string(crate::common::root().join("openapi/spec.lock")).unwrap();
    let l = Lock::parse(&text).unwrap();
    assert_eq!(l.version, "3.7.0");
}

#[test]
fn truthy_values() {
    for v in ["1", "true", "YES", "y", "on"] {
        assert!(source::truthy(Some(v)), "{v}");
    }
    for v in ["0", "false", "no", "", "2"] {
        assert!(!source::truthy(Some(v)), "{v}");
    }
    assert!(!source::truthy(None));
}

#[test]
fn finds_the_pinned_file_beside_the_checkout_by_its_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared/openapi");
    std::fs::create_dir_all(&shared).unwrap();
    // An older description comes first by name but is not the pinned one.
    std::fs::write(shared.join("a-older.yaml"), "openapi: 3.0.4\ninfo: {title: t, version: 1.0.0}\npaths: {}\n")
        .unwrap();
    std::fs::write(shared.join("docspace-1.2.3.yaml"), SPEC).unwrap();
    let (url, hits) = serve("500 Internal Server Error", "");
    let mut s = settings(&dir.path().join("repo"));
    s.pinned_dirs = vec![dir.path().join("missing"), shared.clone()];
    let r = source::resolve(&s, &lock(&url, &sha256_hex(SPEC.as_bytes()))).unwrap();
    assert_eq!(r.origin, Origin::Pinned);
    assert_eq!(r.path, shared.join("docspace-1.2.3.yaml"));
    assert!(r.warning.is_none());
    assert_eq!(hits.load(Ordering::SeqCst), 0, "found without downloading");
    assert!(!dir.path().join("repo/openapi/docspace.yaml").exists(), "nothing copied into the checkout");
    // Offline builds find it too; a folder without the pinned file is passed over.
    s.offline = true;
    assert_eq!(source::resolve(&s, &lock(&url, &sha256_hex(SPEC.as_bytes()))).unwrap().origin, Origin::Pinned);
    let e = source::resolve(&s, &lock(&url, &"0".repeat(64))).unwrap_err().to_string();
    assert!(e.contains("DOCSPACE_OPENAPI_OFFLINE"), "{e}");
}
