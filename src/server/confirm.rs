//! Confirmation before the tool calls that lose data: deleting a file,
//! folder or room, emptying the trash, archiving a room, removing room
//! members. The user is asked by the client, the way its protocol revision
//! allows:
//! - 2025-11-25 clients that declare elicitation: an `elicitation/create`
//!   form (one yes/no field) before the call goes ahead;
//! - 2026-07-28 clients that declare elicitation: an input-required result
//!   asking the same, whose `requestState` is sealed (HMAC, bound to the
//!   tool and its exact arguments, 10 minutes): the client calls again with
//!   the answer and the state; a changed state, or one made for another
//!   call, is refused;
//! - clients that can do neither: [`Mode`] decides (`DOCSPACE_DESTRUCTIVE_CONFIRMATION`).
//!
//! A "no" (decline, cancel, or an unticked box) is a clean result that says
//! nothing was changed, not an error.

use std::sync::OnceLock;
use std::time::Duration;

use rmcp::model::{
    CallToolResult, ClientCapabilities, ContentBlock, ElicitRequestParams, InputRequests, InputRequiredResult,
    InputResponses, JsonObject, RequestStateCodec, SealOptions,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};
use serde_json::{Value, json};

use crate::tools::catalogue::ToolDef;

/// What happens to a data-losing call when the client cannot ask its user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Ask when the client can; otherwise go ahead, as the tool's
    /// `destructiveHint` announced (clients without elicitation, such as
    /// Claude Desktop and Cursor, ask their user before each such call).
    #[default]
    Ask,
    /// Ask when the client can; otherwise refuse, saying how to allow it.
    Require,
    /// Never ask.
    Off,
}

/// The key of the elicitation's one field, and of the input request.
const FIELD: &str = "confirm";
/// How long a sealed confirmation request stays valid.
const TTL: Duration = Duration::from_secs(600);
/// How long a 2025 client's user has to answer.
const ANSWER_TIME: Duration = Duration::from_secs(600);

/// The codec sealing `requestState`: keyed once, by [`key`] (several
/// replicas share `DOCSPACE_STATE_SECRET_KEY`), or else with a random key
/// of this process.
static CODEC: OnceLock<Option<RequestStateCodec>> = OnceLock::new();

/// Keys the sealing with `secret` (at start, before any call).
pub(crate) fn key(secret: &[u8]) {
    let derived =
        ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret), b"docspace-mcp request state");
    let _ = CODEC.set(RequestStateCodec::try_new(derived.as_ref().to_vec()).ok());
}

fn codec() -> Option<&'static RequestStateCodec> {
    CODEC
        .get_or_init(|| {
            let mut key = [0u8; 32];
            ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut key).ok()?;
            RequestStateCodec::try_new(key.to_vec()).ok()
        })
        .as_ref()
}

/// The question to ask before `tool` runs with `args`, when it loses data.
pub(crate) fn question(tool: &ToolDef, args: Option<&JsonObject>) -> Option<String> {
    let arg = |name: &str| args.and_then(|a| a.get(name)).cloned().unwrap_or(Value::Null);
    let id = |name: &str| match arg(name) {
        Value::Null => "?".to_owned(),
        v => v.to_string(),
    };
    // The drafted names are their tools with `immediately` fixed.
    let (name, immediately) = match tool.name {
        "move_file_to_trash" => ("delete_file", false),
        "delete_file_immediately" => ("delete_file", true),
        "move_folder_to_trash" => ("delete_folder", false),
        "delete_folder_immediately" => ("delete_folder", true),
        "move_room_to_archive" => ("archive_room", false),
        name => (name, arg("immediately") == Value::Bool(true)),
    };
    Some(match name {
        "delete_file" if immediately => format!("Delete file {} for good? It cannot be restored.", id("fileId")),
        "delete_file" => format!("Move file {} to the trash?", id("fileId")),
        "delete_folder" if immediately => {
            format!("Delete folder {} and everything in it for good? It cannot be restored.", id("folderId"))
        }
        "delete_folder" => format!("Move folder {} and everything in it to the trash?", id("folderId")),
        "delete_room" => format!("Delete room {} and all its content for good? It cannot be restored.", id("roomId")),
        "archive_room" => format!("Archive room {}? Its members lose access until it is restored.", id("roomId")),
        "empty_trash" => "Empty the trash? Everything in it is deleted for good.".to_owned(),
        "set_room_security" => {
            let removed: Vec<String> = arg("invitations")
                .as_array()
                .into_iter()
                .flatten()
                .filter(|i| i.get("access").and_then(Value::as_i64) == Some(0))
                .map(|i| i.get("email").or_else(|| i.get("id")).map_or_else(|| "?".to_owned(), Value::to_string))
                .collect();
            if removed.is_empty() {
                return None;
            }
            format!("Remove {} from room {}? They lose access to it.", removed.join(", "), id("roomId"))
        }
        _ => return None,
    })
}

/// Where a call that needs confirmation stands.
pub(crate) enum Outcome {
    /// Go ahead.
    Go,
    /// Answer this instead of running the tool (a "no", an input-required
    /// result, a refusal).
    Answer(Box<rmcp::model::CallToolResponse>),
}

/// What binds a sealed state to one call: the tool and its exact arguments.
fn binding(tool: &str, args: Option<&JsonObject>) -> Vec<u8> {
    let args = args.map(|a| Value::Object(a.clone())).unwrap_or_default();
    format!("{tool}\n{args}").into_bytes()
}

/// The elicitation form asking `question`.
fn form(question: &str) -> Value {
    json!({"message": question, "requestedSchema": {"type": "object", "properties": {
        FIELD: {"type": "boolean", "title": "Yes, go ahead", "description": question, "default": false}},
        "required": [FIELD]}})
}

/// Whether an elicitation answer (`{action, content}`) says yes.
fn yes(answer: &Value) -> bool {
    answer.get("action").and_then(Value::as_str) == Some("accept")
        && answer.get("content").and_then(|c| c.get(FIELD)).and_then(Value::as_bool) == Some(true)
}

/// The result of a "no".
fn declined(tool: &str, question: &str) -> Outcome {
    let text = format!("Nothing was changed: the user did not confirm `{tool}` ({question})");
    Outcome::Answer(Box::new(CallToolResult::success(vec![ContentBlock::text(text)]).into()))
}

/// Asks, or checks the answer to, `question` before `tool` runs with `args`.
pub(crate) async fn confirm(
    mode: Mode,
    tool: &str,
    args: Option<&JsonObject>,
    question: &str,
    reply: (Option<&InputResponses>, Option<&str>),
    context: &RequestContext<RoleServer>,
) -> Result<Outcome, ErrorData> {
    if mode == Mode::Off {
        return Ok(Outcome::Go);
    }
    let capabilities: ClientCapabilities = context.client_capabilities().unwrap_or_default();
    let stateless =
        context.protocol_version().is_some_and(|v| v.as_str() >= rmcp::model::ProtocolVersion::V_2026_07_28.as_str());
    let (responses, state) = reply;
    // A reply to an earlier input-required result: its state first.
    if let Some(state) = state {
        let codec = codec().ok_or_else(|| ErrorData::internal_error("the request state cannot be checked", None))?;
        codec.open_with(state, &binding(tool, args)).map_err(|e| {
            ErrorData::invalid_params(format!("requestState failed verification ({e}): call again without it"), None)
        })?;
        return Ok(match responses.and_then(|r| r.get(FIELD)) {
            Some(answer) if yes(answer) => Outcome::Go,
            Some(_) => declined(tool, question),
            None => ask_again(tool, args, question)?,
        });
    }
    if capabilities.elicitation.is_some() {
        if stateless {
            return ask_again(tool, args, question);
        }
        let params: ElicitRequestParams = serde_json::from_value(form(question))
            .map_err(|e| ErrorData::internal_error(format!("the confirmation form is malformed: {e}"), None))?;
        let asked = tokio::time::timeout(ANSWER_TIME, context.peer.create_elicitation(params));
        let answer = tokio::select! {
            answer = asked => answer,
            () = context.ct.cancelled() => return Ok(declined(tool, question)),
        };
        return Ok(match answer {
            Ok(Ok(answer)) if yes(&serde_json::to_value(&answer).unwrap_or_default()) => Outcome::Go,
            Ok(Ok(_)) => declined(tool, question),
            Ok(Err(e)) => {
                return Err(ErrorData::internal_error(
                    format!("could not ask the user to confirm `{tool}`: {e}"),
                    None,
                ));
            }
            Err(_) => declined(tool, question),
        });
    }
    match mode {
        Mode::Require => Ok(Outcome::Answer(Box::new(
            CallToolResult::error(vec![ContentBlock::text(format!(
                "`{tool}` needs the user's confirmation ({question}), and this client cannot ask for it (it does not \
                 support elicitation). Nothing was changed. The server's operator can allow such calls with \
                 DOCSPACE_DESTRUCTIVE_CONFIRMATION=ask."
            ))])
            .into(),
        ))),
        Mode::Ask | Mode::Off => Ok(Outcome::Go),
    }
}

/// An input-required result asking `question`, with a sealed state.
fn ask_again(tool: &str, args: Option<&JsonObject>, question: &str) -> Result<Outcome, ErrorData> {
    let codec = codec().ok_or_else(|| ErrorData::internal_error("the request state cannot be sealed", None))?;
    let state = codec.seal_with(tool.as_bytes(), &SealOptions::new().associated_data(&binding(tool, args)).ttl(TTL));
    let requests: InputRequests =
        serde_json::from_value(json!({FIELD: {"method": "elicitation/create", "params": form(question)}}))
            .map_err(|e| ErrorData::internal_error(format!("the confirmation request is malformed: {e}"), None))?;
    Ok(Outcome::Answer(Box::new(InputRequiredResult::new(Some(requests), Some(state)).into())))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{binding, codec, question, yes};
    use crate::tools::catalogue::find;

    fn args(v: serde_json::Value) -> rmcp::model::JsonObject {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn only_calls_that_lose_data_are_asked_about() {
        let delete = find("delete_file").unwrap();
        assert!(question(delete, Some(&args(json!({"fileId": 5})))).unwrap().contains("trash"));
        let gone = question(delete, Some(&args(json!({"fileId": 5, "immediately": true})))).unwrap();
        assert!(gone.contains("for good") && gone.contains('5'), "{gone}");
        let drafted = question(find("delete_file_immediately").unwrap(), Some(&args(json!({"fileId": 5})))).unwrap();
        assert!(drafted.contains("for good"), "{drafted}");
        assert!(question(find("move_room_to_archive").unwrap(), None).unwrap().starts_with("Archive room"));
        let share = find("set_room_security").unwrap();
        let invite = args(json!({"roomId": 1, "invitations": [{"email": "a@b.c", "access": 10}]}));
        assert!(question(share, Some(&invite)).is_none(), "inviting loses nothing");
        let remove = args(json!({"roomId": 1, "invitations": [{"email": "a@b.c", "access": 0}]}));
        assert!(question(share, Some(&remove)).unwrap().contains("a@b.c"));
        assert!(question(find("get_file_info").unwrap(), None).is_none());
    }

    #[test]
    fn a_sealed_state_opens_only_for_the_same_call() {
        let codec = codec().unwrap();
        let one = args(json!({"roomId": 1}));
        let sealed = codec.seal_with(
            b"delete_room",
            &rmcp::model::SealOptions::new().associated_data(&binding("delete_room", Some(&one))),
        );
        assert!(codec.open_with(&sealed, &binding("delete_room", Some(&one))).is_ok());
        let two = args(json!({"roomId": 2}));
        assert!(codec.open_with(&sealed, &binding("delete_room", Some(&two))).is_err(), "other arguments");
        assert!(codec.open_with(&sealed, &binding("archive_room", Some(&one))).is_err(), "another tool");
        assert!(codec.open_with(&format!("{sealed}x"), &binding("delete_room", Some(&one))).is_err(), "tampered");
        assert!(yes(&json!({"action": "accept", "content": {"confirm": true}})));
        assert!(!yes(&json!({"action": "accept", "content": {"confirm": false}})));
        assert!(!yes(&json!({"action": "decline"})));
    }
}
