//! The multipart/form-data operations (uploads, chunked upload sessions,
//! photos, licences…), which progenitor cannot generate. One handwritten
//! function serves all of them from the generated [`crate::MULTIPART_OPERATIONS`]
//! table: path parameters fill the template, other parameters go to the
//! query, and the members of `body` become form parts. A binary part is
//! `{filename, content_base64, content_type}`; other parts are sent as text
//! (strings as they are, anything else as JSON).

use base64::Engine as _;
use progenitor_client::{ClientInfo, encode_path};
use reqwest::multipart::{Form, Part};
use serde_json::Value;

use crate::Client;
use crate::dispatch::{Args, CallError, Output, declared_body, error_message, says_json};

/// A multipart operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// operationId.
    pub operation_id: &'static str,
    /// Upper-case HTTP method.
    pub method: &'static str,
    /// Path template.
    pub path: &'static str,
    /// Form fields.
    pub fields: &'static [Field],
}

/// A form field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Name as sent.
    pub name: &'static str,
    /// A file part.
    pub binary: bool,
    /// Repeated parts.
    pub array: bool,
}

/// The multipart operation with this operationId.
pub fn operation(operation_id: &str) -> Option<&'static Operation> {
    crate::MULTIPART_OPERATIONS.iter().find(|op| op.operation_id == operation_id)
}

/// Calls a multipart operation with JSON arguments.
pub async fn send(client: &Client, op: &'static Operation, args: &Args) -> Result<Output, CallError> {
    let client = client.for_call();
    let (path, used) = fill_path(op.path, args)?;
    let mut url = format!("{}{}", client.baseurl(), path);
    let query: Vec<(String, String)> = args
        .iter()
        .filter(|(k, _)| k.as_str() != "body" && !used.contains(k))
        .flat_map(|(k, v)| scalars(v).into_iter().map(move |s| (k.clone(), s)))
        .collect();
    if !query.is_empty() {
        let encoded: Vec<String> =
            query.iter().map(|(k, v)| format!("{}={}", encode_query(k), encode_query(v))).collect();
        url.push('?');
        url.push_str(&encoded.join("&"));
    }
    let form = form(op, args.get("body"))?;
    let method =
        reqwest::Method::from_bytes(op.method.as_bytes()).map_err(|e| CallError::InvalidRequest(e.to_string()))?;
    let request = client
        .client()
        .request(method, url)
        .multipart(form)
        .build()
        .map_err(|e| CallError::InvalidRequest(e.to_string()))?;
    let raw = crate::raw::execute(&client, request, op.operation_id).await?;
    let (status, body) = (raw.status, raw.body);
    if (200..300).contains(&status) {
        declared_body(status, &body, None, says_json(raw.content_type.as_deref()))
    } else {
        Err(CallError::Upstream { status, message: error_message(&body) })
    }
}

fn fill_path(template: &str, args: &Args) -> Result<(String, Vec<String>), CallError> {
    let mut out = String::new();
    let mut used = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let (before, after) = rest.split_at(start);
        out.push_str(before);
        let end = after.find('}').ok_or_else(|| CallError::InvalidRequest(format!("bad path template {template}")))?;
        let name = after.get(1..end).unwrap_or_default();
        let value =
            args.get(name).filter(|v| !v.is_null()).ok_or_else(|| CallError::MissingArgument(name.to_owned()))?;
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(_) | Value::Bool(_) => value.to_string(),
            _ => {
                return Err(CallError::InvalidArgument {
                    name: name.to_owned(),
                    message: "expected a string or a number".into(),
                });
            }
        };
        crate::dispatch::check_segment(name, &text)?;
        out.push_str(&encode_path(&text));
        used.push(name.to_owned());
        rest = after.get(end + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    Ok((out, used))
}

fn scalars(v: &Value) -> Vec<String> {
    match v {
        Value::Null => Vec::new(),
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(scalars).collect(),
        other => vec![other.to_string()],
    }
}

fn encode_query(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn form(op: &Operation, body: Option<&Value>) -> Result<Form, CallError> {
    let mut form = Form::new();
    let Some(body) = body.filter(|b| !b.is_null()) else {
        return Ok(form);
    };
    let members = body.as_object().ok_or_else(|| CallError::InvalidArgument {
        name: "body".into(),
        message: "expected an object of form fields".into(),
    })?;
    for (name, value) in members {
        let field = op.fields.iter().find(|f| f.name == name);
        let binary = field.is_some_and(|f| f.binary);
        let values: Vec<&Value> = match value {
            Value::Array(items) if field.is_some_and(|f| f.array) => items.iter().collect(),
            Value::Null => continue,
            other => vec![other],
        };
        for v in values {
            let part = if binary { file_part(name, v)? } else { Part::text(text_of(v)) };
            form = form.part(name.clone(), part);
        }
    }
    Ok(form)
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn file_part(name: &str, v: &Value) -> Result<Part, CallError> {
    let bad = |message: &str| CallError::InvalidArgument { name: format!("body.{name}"), message: message.to_owned() };
    let content =
        v.get("content_base64").and_then(Value::as_str).ok_or_else(|| bad("a file part needs `content_base64`"))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(content.trim())
        .map_err(|e| bad(&format!("`content_base64` is not valid base64: {e}")))?;
    let filename = v.get("filename").and_then(Value::as_str).unwrap_or(name).to_owned();
    let content_type = v.get("content_type").and_then(Value::as_str).unwrap_or("application/octet-stream");
    Part::bytes(bytes)
        .file_name(filename)
        .mime_str(content_type)
        .map_err(|_| bad("`content_type` is not a valid MIME type"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fills_path_templates() {
        let args = json!({"folderId": 12, "name": "a b"}).as_object().cloned().unwrap_or_default();
        let (path, used) = fill_path("/api/2.0/files/{folderId}/upload", &args).unwrap();
        assert_eq!(path, "/api/2.0/files/12/upload");
        assert_eq!(used, vec!["folderId".to_owned()]);
        assert_eq!(fill_path("/x/{missing}", &args), Err(CallError::MissingArgument("missing".into())));
    }

    #[test]
    fn file_parts_need_valid_base64() {
        assert!(file_part("file", &json!({"content_base64": "aGVsbG8="})).is_ok());
        let err = file_part("file", &json!({"content_base64": "***"})).unwrap_err();
        assert!(err.to_string().contains("body.file"), "{err}");
        assert!(file_part("file", &json!({"filename": "x"})).is_err());
    }
}
