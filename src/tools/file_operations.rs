//! Long file operations (copy, move, delete, archive, bulk download): DocSpace
//! answers with `FileOperationDto`s that may still be running. Instead of
//! returning a half-done answer (or giving up after two seconds, as the
//! reference does), we poll their status with backoff up to a deadline,
//! reporting progress when the client asked for it; past the deadline the
//! result says which operation ids to check later with `get_operation_statuses`.

use std::time::{Duration, Instant};

use docspace_mcp_client::Client;
use docspace_mcp_client::dispatch::{Args, CallError, Output};
use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::{Peer, RoleServer};
use serde_json::Value;

use crate::tools::invoke::{Calls, Context};

/// Where progress notifications go (the client sent a progress token).
#[derive(Clone)]
pub(crate) struct Progress {
    /// The client.
    pub peer: Peer<RoleServer>,
    /// Its token for this request.
    pub token: ProgressToken,
}

impl Progress {
    /// Sends one `notifications/progress`.
    pub(crate) async fn report(&self, progress: f64, total: Option<f64>, message: String) {
        let mut p = ProgressNotificationParam::new(self.token.clone(), progress);
        p.total = total;
        p.message = Some(message);
        if let Err(e) = self.peer.notify_progress(p).await {
            tracing::debug!("could not send a progress notification: {e}");
        }
    }
}

/// The items of a DocSpace answer's `response` (an array, or one object).
pub(crate) fn items(value: &Value) -> Vec<&Value> {
    match value.get("response") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(item @ Value::Object(_)) => vec![item],
        _ => Vec::new(),
    }
}

/// The ids of operations in a DocSpace answer that are not finished yet.
pub(crate) fn pending(value: &Value) -> Vec<String> {
    items(value)
        .into_iter()
        .filter(|op| op.get("finished") == Some(&Value::Bool(false)) && op.get("progress").is_some())
        .filter_map(|op| op.get("id").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// How a wait ended.
#[derive(Debug)]
pub(crate) enum Waited {
    /// Every operation finished; their final statuses.
    Finished(Vec<Value>),
    /// The deadline passed; the latest statuses.
    TimedOut(Vec<Value>),
}

/// How a tool call waits for the file operations it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Waiting {
    /// How long, before it answers with the operations' ids to check later.
    pub timeout: Duration,
    /// The longest pause between two status checks: the first comes after
    /// 100 ms (or this, if shorter), each next one half as long again.
    pub interval: Duration,
}

impl Default for Waiting {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(30), interval: Duration::from_secs(2) }
    }
}

/// Polls `getOperationStatuses` until every operation in `ids` finished.
pub(crate) async fn wait(client: &Client, ids: &[String], cx: &Context) -> Result<Waited, CallError> {
    let (waiting, progress) = (cx.waiting, cx.progress.as_ref());
    let deadline = Instant::now() + waiting.timeout;
    let mut delay = Duration::from_millis(100).min(waiting.interval);
    let mut last_reported = -1.0;
    loop {
        let statuses = statuses(client, ids, &cx.calls).await?;
        let done = statuses.iter().filter(|s| s.get("finished") == Some(&Value::Bool(true))).count();
        let percent: f64 = if statuses.is_empty() {
            0.0
        } else {
            statuses.iter().map(|s| s.get("progress").and_then(Value::as_f64).unwrap_or(0.0)).sum::<f64>()
                / statuses.len() as f64
        };
        // Operations DocSpace no longer lists have finished (it drops them once done).
        if done == statuses.len() {
            if let Some(p) = progress {
                p.report(100.0, Some(100.0), "file operation finished".into()).await;
            }
            return Ok(Waited::Finished(statuses));
        }
        if let Some(p) = progress.filter(|_| percent > last_reported) {
            p.report(percent, Some(100.0), format!("file operation {done}/{} done, {percent:.0}%", statuses.len()))
                .await;
            last_reported = percent;
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(Waited::TimedOut(statuses));
        }
        tokio::time::sleep(delay.min(deadline - now)).await;
        delay = (delay * 3 / 2).min(waiting.interval);
    }
}

async fn statuses(client: &Client, ids: &[String], calls: &Calls) -> Result<Vec<Value>, CallError> {
    let out = calls.dispatch(client, "getOperationStatuses", &Args::new()).await?;
    let Output::Json { value, .. } = out else { return Ok(Vec::new()) };
    let all = value.get("response").and_then(Value::as_array).cloned().unwrap_or_default();
    Ok(all
        .into_iter()
        .filter(|s| s.get("id").and_then(Value::as_str).is_some_and(|id| ids.iter().any(|i| i == id)))
        .collect())
}

/// The error of a finished operation, if it failed.
pub(crate) fn failure(status: &Value) -> Option<String> {
    status.get("error").and_then(Value::as_str).filter(|e| !e.trim().is_empty()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_unfinished_operations() {
        let v = json!({"response": [{"id": "a", "finished": false, "progress": 0}, {"id": "b", "finished": true, "progress": 100}]});
        assert_eq!(pending(&v), ["a"]);
        assert_eq!(pending(&json!({"response": {"id": "c", "finished": false, "progress": 10}})), ["c"]);
        assert!(pending(&json!({"response": {"id": 5, "title": "a folder", "finished": false}})).is_empty());
        assert!(pending(&json!({"response": [{"id": 1, "title": "x"}]})).is_empty());
        assert_eq!(failure(&json!({"error": "Access denied"})).as_deref(), Some("Access denied"));
        assert!(failure(&json!({"error": ""})).is_none());
    }
}
