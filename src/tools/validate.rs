//! Arguments checked against the tool's input schema before anything is
//! sent: types, `required`, `minimum`/`maximum`, `enum`, and the formats
//! the catalogue uses (`uuid`, `email`, `date-time`). A call that breaks
//! its schema gets one message naming each offending argument, the
//! constraint and the value, instead of DocSpace quietly clamping it (a
//! `count` of 5000 where the schema says at most 100) or failing later.
//!
//! The checker is the `jsonschema` crate (draft 2020-12, the dialect the
//! catalogue's schemas are written in and that `tests/integration/mcp_schema.rs`
//! already checks them against): a maintained, complete implementation
//! whose messages already say "5000 is greater than the maximum of 100",
//! rather than a hand-written subset that would drift from what the
//! catalogue's schemas use. Each tool's validator is compiled once, on its
//! first call, and kept; a check is then a walk over the arguments.
//!
//! Schemas describe the curated argument shapes, but calls may also use
//! the operation's own ones (`body: {...}` for flattened members, the
//! parameter's name for a renamed argument, the reference server's nested
//! `filters`); those are read as the argument they stand for before the
//! check. Quoted numbers and booleans (`"42"`) are accepted where the schema
//! wants a number or a boolean, and `null` counts as not given, as the
//! client reads them.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use docspace_mcp_client::dispatch::Args;
use jsonschema::Validator;
use serde_json::{Map, Value};

use crate::tools::catalogue::ToolDef;

/// Compiled validators by tool name (`None`: the schema did not compile,
/// which the catalogue tests rule out; such a tool is not checked).
type Cache = HashMap<&'static str, Option<Arc<Validator>>>;
static VALIDATORS: LazyLock<Mutex<Cache>> = LazyLock::new(Mutex::default);

/// At most this many problems are listed in one message.
const MAX_PROBLEMS: usize = 5;

/// Checks `args` against `tool`'s input schema, after turning quoted
/// scalars into the numbers and booleans the schema asks for; the message
/// for the caller when they break it.
pub(crate) fn check(tool: &ToolDef, args: &mut Args) -> Result<(), String> {
    // `null` means "not given" to the client (models send it for optional
    // arguments they leave out), so it is not checked as a value.
    args.retain(|_, v| !v.is_null());
    let schema = Value::Object(tool.input_schema());
    coerce(&schema, args);
    let Some(validator) = validator(tool, &schema) else { return Ok(()) };
    let view = Value::Object(view(tool, &schema, args));
    let problems: Vec<String> = validator.iter_errors(&view).take(MAX_PROBLEMS).map(|e| describe(&e)).collect();
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!(
        "Invalid arguments for `{}`: {}. Nothing was sent to DocSpace; call it again with arguments its input \
         schema allows.",
        tool.name,
        problems.join("; ")
    ))
}

fn validator(tool: &ToolDef, schema: &Value) -> Option<Arc<Validator>> {
    let mut cache = VALIDATORS.lock().ok()?;
    cache
        .entry(tool.name)
        .or_insert_with(|| match jsonschema::draft202012::options().should_validate_formats(true).build(schema) {
            Ok(v) => Some(Arc::new(v)),
            Err(e) => {
                tracing::warn!(tool = tool.name, "input schema does not compile, arguments not checked: {e}");
                None
            }
        })
        .clone()
}

/// One problem: which argument, and what is wrong with its value.
fn describe(e: &jsonschema::ValidationError<'_>) -> String {
    let path = e.instance_path().as_str().trim_start_matches('/').replace('/', ".");
    if let jsonschema::error::ValidationErrorKind::Required { property } = e.kind() {
        let name = property.as_str().map_or_else(|| property.to_string(), str::to_owned);
        let name = if path.is_empty() { name } else { format!("{path}.{name}") };
        return format!("missing required argument `{name}`");
    }
    if path.is_empty() { e.to_string() } else { format!("`{path}`: {e}") }
}

/// The arguments as the schema names them: `filters` spread out, members
/// of `body` and parameters given under their operation names read as the
/// curated arguments they stand for.
fn view(tool: &ToolDef, schema: &Value, args: &Args) -> Map<String, Value> {
    let declared = |name: &str| schema.get("properties").and_then(|p| p.get(name)).is_some();
    let mut view = args.clone();
    if !declared("filters")
        && let Some(Value::Object(filters)) = view.remove("filters")
    {
        for (k, v) in filters {
            view.entry(k).or_insert(v);
        }
    }
    if !declared("body")
        && let Some(Value::Object(body)) = args.get("body")
    {
        for (member, v) in body {
            let target = format!("body.{member}");
            let name = tool.arguments.iter().find(|(_, t)| *t == target).map_or(member.as_str(), |(a, _)| *a);
            view.entry(name).or_insert_with(|| v.clone());
        }
    }
    for (argument, target) in tool.arguments {
        if !target.starts_with("body.")
            && let Some(v) = args.get(*target)
        {
            view.entry(*argument).or_insert_with(|| v.clone());
        }
    }
    view
}

/// Turns `"42"` into `42` and `"true"` into `true` where the schema wants a
/// number or a boolean (in nested objects and arrays too).
fn coerce(schema: &Value, args: &mut Map<String, Value>) {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else { return };
    for (name, value) in args.iter_mut() {
        if let Some(s) = props.get(name) {
            coerce_value(s, value);
        }
    }
}

fn coerce_value(schema: &Value, value: &mut Value) {
    let wants = |t: &str| match schema.get("type") {
        Some(Value::String(s)) => s == t,
        Some(Value::Array(a)) => a.iter().any(|x| x == t),
        _ => false,
    };
    match value {
        Value::String(s) if wants("integer") || wants("number") || wants("boolean") => {
            if let Ok(parsed) = serde_json::from_str::<Value>(s.trim())
                && ((parsed.is_number() && (wants("integer") || wants("number")))
                    || (parsed.is_boolean() && wants("boolean")))
            {
                *value = parsed;
            }
        }
        Value::Object(map) => coerce(schema, map),
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    coerce_value(item_schema, item);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::tools::catalogue::find;

    fn args(v: Value) -> Args {
        v.as_object().cloned().unwrap()
    }

    fn check_of(tool: &str, v: Value) -> Result<Args, String> {
        let mut a = args(v);
        check(find(tool).unwrap(), &mut a).map(|()| a)
    }

    #[test]
    fn a_count_over_the_schemas_maximum_is_refused_naming_argument_limit_and_value() {
        let e = check_of("get_folder_content", json!({"folderId": 1, "count": 5000})).unwrap_err();
        assert!(e.contains("`count`: 5000 is greater than the maximum of 100"), "{e}");
        assert!(e.starts_with("Invalid arguments for `get_folder_content`"), "{e}");
        let e = check_of("get_folder_content", json!({"folderId": 1, "count": 0})).unwrap_err();
        assert!(e.contains("`count`: 0 is less than the minimum of 1"), "{e}");
        assert!(check_of("get_folder_content", json!({"folderId": 1, "count": 100})).is_ok());
    }

    #[test]
    fn required_enums_types_and_formats_are_checked() {
        let e = check_of("get_file_info", json!({})).unwrap_err();
        assert!(e.contains("missing required argument `fileId`"), "{e}");
        let e = check_of("get_file_info", json!({"fileId": "forty-two"})).unwrap_err();
        assert!(e.contains("`fileId`: \"forty-two\" is not of type \"integer\""), "{e}");
        let e = check_of("get_rooms_folder", json!({"type": [99]})).unwrap_err();
        assert!(e.contains("`type.0`") && e.contains("99"), "{e}");
        let e = check_of("get_group", json!({"id": "not-a-uuid"})).unwrap_err();
        assert!(e.contains("`id`: \"not-a-uuid\" is not a \"uuid\""), "{e}");
        let e = check_of("download_file_as_text", json!({"fileId": 1, "maxChars": 0})).unwrap_err();
        assert!(e.contains("`maxChars`: 0 is less than the minimum of 1"), "{e}");
    }

    #[test]
    fn null_is_an_argument_not_given() {
        let a = check_of("get_folder_content", json!({"folderId": 1, "filterValue": null, "count": null})).unwrap();
        assert_eq!(a, args(json!({"folderId": 1})));
        let e = check_of("get_file_info", json!({"fileId": null})).unwrap_err();
        assert!(e.contains("missing required argument `fileId`"), "{e}");
    }

    #[test]
    fn quoted_scalars_are_read_as_the_numbers_they_are() {
        let a = check_of("get_folder_content", json!({"folderId": "7", "count": "20"})).unwrap();
        assert_eq!((a["folderId"].clone(), a["count"].clone()), (json!(7), json!(20)));
        let e = check_of("get_folder_content", json!({"folderId": 1, "count": "5000"})).unwrap_err();
        assert!(e.contains("5000 is greater than the maximum of 100"), "{e}");
    }

    #[test]
    fn the_operations_own_shapes_count_as_the_arguments_they_stand_for() {
        // `body` for flattened members, the parameter's name for a renamed one, nested `filters`.
        assert!(check_of("create_folder", json!({"folderId": 1, "body": {"title": "x"}})).is_ok());
        assert!(check_of("create_folder", json!({"parentId": 1, "title": "x"})).is_ok());
        let e = check_of("create_folder", json!({"parentId": 1})).unwrap_err();
        assert!(e.contains("missing required argument `title`"), "{e}");
        let e = check_of("get_folder_content", json!({"folderId": 1, "filters": {"count": 500}})).unwrap_err();
        assert!(e.contains("500 is greater than the maximum of 100"), "{e}");
    }
}
