//! Workflow prompts: the everyday DocSpace jobs people ask an assistant for
//! (set up a project room, audit who can access a room, archive finished
//! rooms, gather a folder's documents for a summary, onboard a member), as
//! MCP prompts a client offers its user (slash commands in most clients).
//! Each fills a user message that walks the model through the default
//! catalogue's tools. Their room, folder and person arguments complete
//! (`completion/complete`) from the portal: rooms and folders by title,
//! people by name or e-mail.

use docspace_mcp_client::Client;
use docspace_mcp_client::dispatch::Args;
use rmcp::ErrorData;
use rmcp::model::{
    CompleteRequestParams, CompleteResult, CompletionInfo, GetPromptResult, Prompt, PromptArgument, PromptMessage, Role,
};
use serde_json::{Value, json};

use crate::tools::content;
use crate::tools::invoke::Context;

/// What kind of thing an argument names (what completes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A room, by title.
    Room,
    /// A folder or room, by title.
    Folder,
    /// A person, by e-mail.
    Person,
    /// Free text.
    Text,
}

/// One argument of a prompt.
struct Arg {
    name: &'static str,
    description: &'static str,
    required: bool,
    kind: Kind,
}

/// A prompt's message, from its arguments' values by name ("" when absent).
type Message = fn(&dyn Fn(&str) -> String) -> String;

/// One prompt.
struct Def {
    name: &'static str,
    title: &'static str,
    description: &'static str,
    args: &'static [Arg],
    /// The message, from the arguments (absent optional ones are "").
    message: Message,
}

const PROMPTS: &[Def] = &[
    Def {
        name: "set_up_project_room",
        title: "Set up a project room",
        description: "Create a collaboration room for a project and invite people with the right access levels",
        args: &[
            Arg { name: "name", description: "The room's name", required: true, kind: Kind::Text },
            Arg {
                name: "members",
                description: "People to invite, as e-mail addresses, each optionally with an access level \
                              (e.g. ann@example.com editor, bob@example.com viewer)",
                required: false,
                kind: Kind::Person,
            },
            Arg {
                name: "purpose",
                description: "What the room is for (picks the room type)",
                required: false,
                kind: Kind::Text,
            },
        ],
        message: |a| {
            format!(
                "Set up a DocSpace room for the project \"{name}\".\n\n\
                 1. Call get_room_types and pick the type that suits {purpose}; a collaboration room \
                 (EditingRoom) unless something else fits better.\n\
                 2. Create it with create_room (title \"{name}\", that type).\n\
                 3. Call get_room_access_levels for the new room to see which access levels it allows.\n\
                 4. Invite these people with set_room_security, each with the access level asked for (or the \
                 least that lets them do their part): {members}.\n\
                 5. Finish with get_room_security_info, and tell me the room's id, its link, and who has which \
                 access. Ask me before inviting anyone I did not name.",
                name = a("name"),
                purpose = or(&a("purpose"), "the project"),
                members = or(&a("members"), "nobody yet (ask me whom to invite)"),
            )
        },
    },
    Def {
        name: "audit_room_access",
        title: "Audit who can access a room",
        description: "List everyone who can access a room, with their access levels and the room's shared links",
        args: &[Arg { name: "room", description: "The room (its title or id)", required: true, kind: Kind::Room }],
        message: |a| {
            format!(
                "Audit the access to the DocSpace room \"{room}\".\n\n\
                 1. Find the room: if \"{room}\" is not an id, look it up with get_rooms_folder \
                 (filterValue = its title) and take the matching room's id.\n\
                 2. Call get_room_security_info for it, and get_room_links for its shared and external links.\n\
                 3. Report, as a table: each person or group, their access level, and whether they are the \
                 owner or an administrator; then each link, its access and whether it is public, expires or \
                 has a password.\n\
                 4. Point out what looks risky (public links with editing rights, links that never expire, \
                 people outside the organisation), and change nothing.",
                room = a("room"),
            )
        },
    },
    Def {
        name: "archive_finished_rooms",
        title: "Archive finished rooms",
        description: "Find rooms nobody has worked in lately and archive the ones you confirm",
        args: &[Arg {
            name: "inactive_days",
            description: "How many days without changes make a room finished (default 90)",
            required: false,
            kind: Kind::Text,
        }],
        message: |a| {
            format!(
                "Find DocSpace rooms that look finished and archive the ones I confirm.\n\n\
                 1. List the rooms with get_rooms_folder (all pages).\n\
                 2. A room is a candidate when it has not been modified for {days} days (its `updated` date).\n\
                 3. Show me the candidates as a table (title, id, last change, owner) and wait for my answer.\n\
                 4. Archive only the rooms I confirm, one by one, with archive_room, and say which were \
                 archived. Archived rooms can be restored later with unarchive_room.",
                days = or(&a("inactive_days"), "90"),
            )
        },
    },
    Def {
        name: "summarize_folder",
        title: "Summarise a folder's documents",
        description: "Read the documents of a folder or room and summarise them",
        args: &[
            Arg {
                name: "folder",
                description: "The folder or room (its title or id; \"my documents\" for your own)",
                required: true,
                kind: Kind::Folder,
            },
            Arg { name: "focus", description: "What the summary should bring out", required: false, kind: Kind::Text },
        ],
        message: |a| {
            format!(
                "Summarise the documents in the DocSpace folder \"{folder}\".\n\n\
                 1. Find it: \"my documents\" is get_my_folder; otherwise look for a room with get_rooms_folder \
                 (filterValue = the title) or a folder with get_folder_content, or use the id if it is one.\n\
                 2. List its files with get_folder_content (all pages).\n\
                 3. Read each document, spreadsheet and presentation with download_file_as_text (or the \
                 resource docspace://files/<id> if you can read resources), at most 20 files; say which you \
                 skipped and why.\n\
                 4. Write a summary per file (two or three sentences), then an overall summary{focus}.",
                folder = a("folder"),
                focus = match a("focus").as_str() {
                    "" => String::new(),
                    focus => format!(" that brings out: {focus}"),
                },
            )
        },
    },
    Def {
        name: "onboard_member",
        title: "Onboard a new member",
        description: "Give a new colleague access to the rooms they need, with the right access levels",
        args: &[
            Arg { name: "email", description: "The new member's e-mail address", required: true, kind: Kind::Person },
            Arg {
                name: "rooms",
                description: "The rooms to give them (titles or ids, comma-separated)",
                required: false,
                kind: Kind::Room,
            },
            Arg {
                name: "access",
                description: "Their access level in those rooms (default: the least that lets them work)",
                required: false,
                kind: Kind::Text,
            },
        ],
        message: |a| {
            format!(
                "Onboard {email} in DocSpace.\n\n\
                 1. Check whether they already have an account with get_all_people (filterValue = {email}).\n\
                 2. The rooms: {rooms}. Find each one's id with get_rooms_folder.\n\
                 3. For each room, call get_room_access_levels, then invite {email} with set_room_security at \
                 the access level {access}; DocSpace sends the invitation e-mail.\n\
                 4. Tell me which rooms they were added to, with which access, and anything that failed.",
                email = a("email"),
                rooms = or(&a("rooms"), "ask me which rooms they need, listing the rooms with get_rooms_folder"),
                access = or(&a("access"), "that lets them work (ask me if unsure)"),
            )
        },
    },
];

fn or(value: &str, default: &str) -> String {
    if value.trim().is_empty() { default.to_owned() } else { value.to_owned() }
}

/// The prompts `prompts/list` names.
pub(crate) fn listed() -> Vec<Prompt> {
    PROMPTS
        .iter()
        .map(|p| {
            let args = p
                .args
                .iter()
                .map(|a| PromptArgument::new(a.name).with_description(a.description).with_required(a.required))
                .collect();
            Prompt::new(p.name, Some(p.description), Some(args)).with_title(p.title)
        })
        .collect()
}

/// Whether `name` is one of these prompts.
pub(crate) fn is_own(name: &str) -> bool {
    PROMPTS.iter().any(|p| p.name == name)
}

/// The prompt `name` with `arguments`.
pub(crate) fn get(
    name: &str,
    arguments: Option<&serde_json::Map<String, Value>>,
) -> Result<GetPromptResult, ErrorData> {
    let Some(prompt) = PROMPTS.iter().find(|p| p.name == name) else {
        return Err(ErrorData::invalid_params(
            format!("no prompt {}; prompts/list shows them", super::quoted(name)),
            None,
        ));
    };
    let value = |name: &str| {
        arguments.and_then(|a| a.get(name)).and_then(Value::as_str).map(|v| v.trim().to_owned()).unwrap_or_default()
    };
    let missing: Vec<&str> =
        prompt.args.iter().filter(|a| a.required && value(a.name).is_empty()).map(|a| a.name).collect();
    if !missing.is_empty() {
        return Err(ErrorData::invalid_params(
            format!("the prompt `{}` needs {}", prompt.name, missing.join(" and ")),
            None,
        ));
    }
    let message = (prompt.message)(&value);
    Ok(GetPromptResult::new(vec![PromptMessage::new_text(Role::User, message)]).with_description(prompt.description))
}

/// The reference and argument a completion asks about: the prompt's own
/// argument kind, when it is one of these prompts.
pub(crate) fn kind_of(request: &CompleteRequestParams) -> Option<(&'static str, &'static str)> {
    let request = serde_json::to_value(request).ok()?;
    if request.pointer("/ref/type").and_then(Value::as_str) != Some("ref/prompt") {
        return None;
    }
    let prompt = request.pointer("/ref/name").and_then(Value::as_str)?;
    let argument = request.pointer("/argument/name").and_then(Value::as_str)?;
    let prompt = PROMPTS.iter().find(|p| p.name == prompt)?;
    let arg = prompt.args.iter().find(|a| a.name == argument)?;
    Some((prompt.name, arg.name))
}

/// The longest argument value (bytes) that gets suggestions.
const MAX_TYPED: usize = 1000;

/// Suggestions for argument `argument` of prompt `prompt`, from the portal.
pub(crate) async fn complete(
    client: &Client,
    (prompt, argument): (&str, &str),
    typed: &str,
    cx: &Context,
) -> Result<CompleteResult, ErrorData> {
    let kind = PROMPTS
        .iter()
        .find(|p| p.name == prompt)
        .and_then(|p| p.args.iter().find(|a| a.name == argument))
        .map_or(Kind::Text, |a| a.kind);
    // Each suggestion repeats what was typed before the last value: a long
    // value gets none (and costs no DocSpace call).
    let kind = if typed.len() > MAX_TYPED { Kind::Text } else { kind };
    // Several comma-separated values (members, rooms): complete the last.
    let (before, last) = typed.rsplit_once(',').map_or(("", typed), |(b, l)| (b, l));
    let last = last.trim();
    let values = match kind {
        Kind::Text => Vec::new(),
        Kind::Room => titles(client, "getRoomsFolder", last, cx).await?,
        Kind::Folder => {
            let mut values = titles(client, "getRoomsFolder", last, cx).await?;
            values.extend(titles(client, "getMyFolder", last, cx).await?);
            if "my documents".starts_with(&last.to_lowercase()) {
                values.insert(0, "my documents".to_owned());
            }
            values
        }
        Kind::Person => people(client, last, cx).await?,
    };
    let prefix = if before.is_empty() { String::new() } else { format!("{before}, ") };
    let mut values: Vec<String> = values.into_iter().map(|v| format!("{prefix}{v}")).collect();
    values.dedup();
    let total = values.len();
    values.truncate(CompletionInfo::MAX_VALUES);
    let info = CompletionInfo::with_pagination(values, u32::try_from(total).ok(), total > CompletionInfo::MAX_VALUES)
        .map_err(|e| ErrorData::internal_error(e, None))?;
    Ok(CompleteResult::new(info))
}

/// Whether a suggestion holds `needle` (what was typed, lower-cased), in any case.
fn matches(candidate: &str, needle: &str) -> bool {
    candidate.to_lowercase().contains(needle)
}

/// Titles of the folders (rooms) in a listing that match `typed`.
async fn titles(client: &Client, operation: &'static str, typed: &str, cx: &Context) -> Result<Vec<String>, ErrorData> {
    let mut args = Args::new();
    args.insert("count".into(), json!(50));
    if !typed.is_empty() {
        args.insert("filterValue".into(), json!(typed));
    }
    let folder = lookup(cx.calls.dispatch(client, operation, &args).await.map_err(|e| e.to_string()))?;
    let folders = folder.get("folders").and_then(Value::as_array).cloned().unwrap_or_default();
    let needle = typed.to_lowercase();
    Ok(folders
        .iter()
        .filter_map(|f| f.get("title").and_then(Value::as_str))
        .filter(|t| matches(t, &needle))
        .map(str::to_owned)
        .collect())
}

/// E-mail addresses of the people whose name or address matches `typed`.
async fn people(client: &Client, typed: &str, cx: &Context) -> Result<Vec<String>, ErrorData> {
    let mut args = Args::new();
    args.insert("count".into(), json!(50));
    if !typed.is_empty() {
        args.insert("filterValue".into(), json!(typed));
    }
    let answer = cx.calls.dispatch(client, "searchUsersByExtendedFilter", &args).await.map_err(|e| e.to_string());
    let people = lookup(answer)?;
    let people = people.as_array().cloned().unwrap_or_default();
    let needle = typed.to_lowercase();
    Ok(people
        .iter()
        .filter(|p| {
            let name = p.get("displayName").and_then(Value::as_str).unwrap_or_default();
            let email = p.get("email").and_then(Value::as_str).unwrap_or_default();
            matches(name, &needle) || matches(email, &needle)
        })
        .filter_map(|p| p.get("email").and_then(Value::as_str).map(str::to_owned))
        .collect())
}

/// DocSpace's answer to a lookup, or the completion's error.
fn lookup(answer: Result<docspace_mcp_client::dispatch::Output, String>) -> Result<Value, ErrorData> {
    answer
        .and_then(content::response)
        .map_err(|e| ErrorData::internal_error(format!("DocSpace could not be asked for suggestions: {e}"), None))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{PROMPTS, get, listed};

    #[test]
    fn every_prompt_is_described_and_its_required_arguments_are_enforced() {
        assert_eq!(listed().len(), PROMPTS.len());
        for p in listed() {
            assert!(p.description.as_deref().is_some_and(|d| !d.is_empty()), "{}", p.name);
        }
        let err = get("audit_room_access", None).unwrap_err();
        assert!(err.message.contains("needs room"), "{}", err.message);
        let args = json!({"room": "Marketing"});
        let prompt = get("audit_room_access", args.as_object()).unwrap();
        let text = serde_json::to_string(&prompt).unwrap();
        assert!(text.contains("\\\"Marketing\\\"") && text.contains("get_room_security_info"), "{text}");
        assert!(get("no_such_prompt", None).is_err());
    }

    #[test]
    fn prompts_name_only_tools_of_the_default_catalogue() {
        let defaults: Vec<&str> =
            crate::tools::selection::select(&[], &[], &[], false).unwrap().iter().map(|t| t.name).collect();
        for p in PROMPTS {
            let text = (p.message)(&|name: &str| format!("<{name}>"));
            for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                let looks_like_tool = word.contains('_') && word.chars().all(|c| c.is_ascii_lowercase() || c == '_');
                if looks_like_tool && crate::tools::catalogue::find(word).is_some() {
                    assert!(defaults.contains(&word), "{} names {word}, which the default catalogue lacks", p.name);
                }
            }
        }
    }
}
