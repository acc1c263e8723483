//! What every target shares: a Tokio runtime per target (its worker threads
//! named after it), the time bound that turns a hang into a failure, and a
//! panic watch that catches panics in tasks the server spawns (which Tokio
//! would otherwise swallow) and pins them on the target whose threads ran them.

use std::future::Future;
use std::sync::{Mutex, Once};
use std::time::Duration;

/// The longest one step of a target may take: anything longer is a hang.
pub const HANG: Duration = Duration::from_secs(10);

/// How many inputs each target tries in an ordinary `cargo test` run, and
/// for how long at most (bolero's `BOLERO_RANDOM_ITERATIONS` and
/// `BOLERO_RANDOM_TEST_TIME_MS` raise both for a long run).
pub const CI_ITERATIONS: usize = 300;
/// See [`CI_ITERATIONS`].
pub const CI_TIME: Duration = Duration::from_secs(6);

/// The largest input in bytes.
pub const MAX_LEN: usize = 16 * 1024;

/// A multi-threaded runtime whose threads are named `fuzz-<target>`.
pub fn runtime(target: &str) -> tokio::runtime::Runtime {
    watch_panics();
    crate::input::warm();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(format!("fuzz-{target}"))
        .enable_all()
        .build()
        .expect("a Tokio runtime")
}

/// Runs `step` on `rt` within [`HANG`], failing on a hang and on a panic in
/// any of the target's threads (a task the server spawned included).
pub fn run<T>(rt: &tokio::runtime::Runtime, target: &str, what: &str, step: impl Future<Output = T>) -> T {
    let out = rt.block_on(async { tokio::time::timeout(HANG, step).await });
    let panics = take_panics(&format!("fuzz-{target}"));
    assert!(panics.is_empty(), "{target}: a task panicked during {what}: {panics:#?}");
    match out {
        Ok(out) => out,
        Err(_) => panic!("{target}: {what} took longer than {HANG:?} (a hang)"),
    }
}

static PANICS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// Records every panic (thread name, message) before the hook in place
/// (bolero's, or the default) sees it.
fn watch_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current().name().unwrap_or_default().to_owned();
            if let Ok(mut panics) = PANICS.lock() {
                panics.push((thread, info.to_string()));
            }
            previous(info);
        }));
    });
}

/// The panics recorded on threads whose names start with `prefix`, removed.
fn take_panics(prefix: &str) -> Vec<String> {
    let Ok(mut panics) = PANICS.lock() else { return vec!["the panic list is poisoned".into()] };
    let (mine, others): (Vec<_>, Vec<_>) = panics.drain(..).partition(|(t, _)| t.starts_with(prefix));
    *panics = others;
    mine.into_iter().map(|(t, m)| format!("[{t}] {m}")).collect()
}
