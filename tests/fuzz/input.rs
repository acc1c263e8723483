//! Structure-aware inputs, drawn from the fuzzer's bytes with `arbitrary`:
//! JSON values, JSON-RPC messages, tool arguments shaped by the tools' own
//! input schemas, header names and values, query strings. Every draw mixes
//! well-formed values (what the server expects), values from a dictionary
//! of troublemakers (dot segments, control characters, huge numbers, URLs)
//! and raw arbitrary text, so the fuzzer gets past the first check and
//! still reaches the odd corners. Sizes are bounded by the input's length.

use std::sync::OnceLock;

use arbitrary::{Result, Unstructured};
use docspace_mcp::catalogue;
use serde_json::{Map, Number, Value, json};

/// Strings that have broken parsers before: empty, dot segments, encoded
/// separators, control characters, NUL, BOM, bidi overrides, long runs.
pub const NASTY: &[&str] = &[
    "",
    " ",
    ".",
    "..",
    "../..",
    "..\\..",
    "%2e%2e",
    "%2F",
    "%",
    "%zz",
    "/",
    "//",
    "\\",
    "?",
    "#",
    "&",
    "=",
    ",",
    ",,,",
    "*",
    "\0",
    "\r\n",
    "\n",
    "\t",
    "\u{feff}",
    "\u{202e}",
    "\u{1b}[31m",
    "é",
    "𝕏",
    "null",
    "true",
    "0",
    "-1",
    "1e309",
    "NaN",
    "9223372036854775808",
    "{}",
    "[]",
    "{\"a\":",
    "<script>",
    "'\"",
    "$ref",
    "#/components/schemas/x",
    "__proto__",
    "2025-01-01T00:00:00Z",
    "0000-00-00",
    "http://",
    "https://",
    "https://example.invalid",
    "http://127.0.0.1:1",
    "http://[::1]:1",
    "http://[::ffff:127.0.0.1]",
    "http://0x7f.1",
    "http://user:pass@127.0.0.1:1/",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "data:,x",
    "Bearer",
    "Bearer ",
    "Basic",
    "Basic Og==",
    "Basic ::::",
];

/// A string: a nasty one, arbitrary text, a long run, or one of `extra`.
pub fn string(u: &mut Unstructured, extra: &[&str]) -> Result<String> {
    Ok(match u.int_in_range(0..=9)? {
        0..=2 if !extra.is_empty() => (*u.choose(extra)?).to_owned(),
        0..=3 => (*u.choose(NASTY)?).to_owned(),
        4 => {
            let unit = u.choose(&["a", "/", "..", "%", ",", "é", "\u{0}", "a,"])?;
            unit.repeat(u.int_in_range(64..=70_000)?)
        }
        5 => {
            // Two pieces glued: a known value with something after or before it.
            let a = string(u, extra)?;
            let b = (*u.choose(NASTY)?).to_owned();
            if u.arbitrary()? { a + &b } else { b + &a }
        }
        _ => u.arbitrary::<String>()?,
    })
}

/// A number, often at an edge.
pub fn number(u: &mut Unstructured) -> Result<Value> {
    Ok(match u.int_in_range(0..=6)? {
        0 => json!(*u.choose(&[0i64, 1, -1, 42, i64::MAX, i64::MIN, i64::from(i32::MAX) + 1])?),
        1 => json!(u64::MAX),
        2 => json!(*u.choose(&[0.5f64, -0.0, 1e308, -1e308, f64::EPSILON, 1e-320])?),
        3 => Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
        4 => json!(u.arbitrary::<u64>()?),
        _ => json!(u.arbitrary::<i64>()?),
    })
}

/// Any JSON value at most `depth` containers deep; `keys` and `strings` are
/// the dictionaries object keys and strings are drawn from.
pub fn value(u: &mut Unstructured, depth: u32, keys: &[&str], strings: &[&str]) -> Result<Value> {
    let top = if depth == 0 { 3 } else { 6 };
    Ok(match u.int_in_range(0..=top)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => number(u)?,
        3 => Value::String(string(u, strings)?),
        4 => {
            let n = u.int_in_range(0..=6)?;
            Value::Array((0..n).map(|_| value(u, depth - 1, keys, strings)).collect::<Result<_>>()?)
        }
        5 if u.ratio(1, 40)? => deep(u)?,
        _ => {
            let n = u.int_in_range(0..=6)?;
            let mut map = Map::new();
            for _ in 0..n {
                map.insert(string(u, keys)?, value(u, depth - 1, keys, strings)?);
            }
            Value::Object(map)
        }
    })
}

/// A value nested as deep as JSON from the wire can be (serde_json refuses
/// more than 128 levels; deeper text is [`unclosed`]'s business).
fn deep(u: &mut Unstructured) -> Result<Value> {
    let depth = u.int_in_range(64..=126)?;
    let mut v = Value::Null;
    for i in 0..depth {
        v = if i % 2 == 0 { json!([v]) } else { json!({"a": v}) };
    }
    Ok(v)
}

/// Text nested `depth` times that never closes (for parsers that recurse before they fail).
pub fn unclosed(u: &mut Unstructured) -> Result<String> {
    let depth = u.int_in_range(100..=100_000)?;
    Ok(u.choose(&["[", "{\"a\":", "[{\"x\":"])?.repeat(depth))
}

/// The tools the catalogue has, by name.
pub fn tool_names() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names: Vec<&'static str> = catalogue::TOOLS.iter().map(|t| t.name).collect();
        names.extend(catalogue::TOOLS.iter().flat_map(|t| t.aliases.iter().copied()));
        names.extend([
            "list_toolsets",
            "list_tools",
            "search_tools",
            "get_tool_input_schema",
            "get_tool_output_schema",
            "call_tool",
        ]);
        names
    })
}

/// The catalogue's toolset names.
pub fn toolset_names() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names: Vec<&'static str> = catalogue::TOOLSETS.iter().map(|t| t.name).collect();
        names.extend(["all", "core", "default", "none"]);
        names
    })
}

/// Every tool's input schema, parsed once.
fn schemas() -> &'static [(&'static str, Value)] {
    static SCHEMAS: OnceLock<Vec<(&'static str, Value)>> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        catalogue::TOOLS
            .iter()
            .map(|t| (t.name, serde_json::from_str(t.input_schema_text()).unwrap_or(Value::Null)))
            .collect()
    })
}

/// Every property name any input schema has (the keys arguments are drawn from).
pub fn argument_names() -> &'static [&'static str] {
    static OWNED: OnceLock<Vec<String>> = OnceLock::new();
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let owned = OWNED.get_or_init(|| {
            let mut names: Vec<String> = schemas()
                .iter()
                .filter_map(|(_, s)| s.get("properties").and_then(Value::as_object))
                .flat_map(|p| p.keys().cloned())
                .collect();
            names.sort_unstable();
            names.dedup();
            names
        });
        owned.iter().map(String::as_str).collect()
    })
}

/// Builds the dictionaries before the first input, so that what they hold
/// is not mistaken for memory an input leaked (libFuzzer's leak check).
pub fn warm() {
    let _ = (tool_names(), toolset_names(), argument_names());
}

/// A value shaped by `schema` (its `type`, `enum`, `items`, `properties`),
/// now and then anything at all.
pub fn from_schema(u: &mut Unstructured, schema: &Value, depth: u32) -> Result<Value> {
    if depth == 0 || u.ratio(1, 8)? {
        return value(u, depth.min(2), argument_names(), tool_names());
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array).filter(|o| !o.is_empty())
        && u.ratio(3, 4)?
    {
        return Ok(u.choose(options)?.clone());
    }
    if let Some(branches) = ["anyOf", "oneOf", "allOf"]
        .iter()
        .find_map(|k| schema.get(*k).and_then(Value::as_array).filter(|b| !b.is_empty()))
    {
        let branch = u.choose(branches)?;
        return from_schema(u, branch, depth - 1);
    }
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => u.choose(ts)?.as_str().unwrap_or("string"),
        _ => "any",
    };
    Ok(match ty {
        "integer" => match u.int_in_range(0..=3)? {
            0 => json!(u.int_in_range(0..=50)?),
            1 => number(u)?,
            _ => json!(u.int_in_range(-3i64..=1_000_000)?),
        },
        "number" => number(u)?,
        "boolean" => Value::Bool(u.arbitrary()?),
        "array" => {
            let items = schema.get("items").cloned().unwrap_or(Value::Null);
            let n = u.int_in_range(0..=4)?;
            Value::Array((0..n).map(|_| from_schema(u, &items, depth - 1)).collect::<Result<_>>()?)
        }
        "object" => object_from_schema(u, schema, depth - 1)?,
        "string" => {
            let format = schema.get("format").and_then(Value::as_str).unwrap_or_default();
            match format {
                "date-time" if u.ratio(1, 2)? => json!("2025-06-30T12:00:00.000Z"),
                "uuid" if u.ratio(1, 2)? => json!("00000000-0000-0000-0000-000000000000"),
                "binary" | "byte" if u.ratio(1, 2)? => json!("aGVsbG8="),
                _ => Value::String(string(u, &["1", "42", "Report.docx", "My documents", "@self", "text"])?),
            }
        }
        _ => value(u, depth.min(2), argument_names(), tool_names())?,
    })
}

fn object_from_schema(u: &mut Unstructured, schema: &Value, depth: u32) -> Result<Value> {
    let mut map = Map::new();
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, sub) in props {
            if u.ratio(2, 3)? {
                map.insert(name.clone(), from_schema(u, sub, depth)?);
            }
        }
    }
    // Names the schema does not have.
    for _ in 0..u.int_in_range(0..=2)? {
        map.insert(string(u, argument_names())?, value(u, 1, argument_names(), &[])?);
    }
    Ok(Value::Object(map))
}

/// A tool's name and arguments: mostly a catalogue tool with arguments
/// following its schema, sometimes anything.
pub fn tool_call(u: &mut Unstructured) -> Result<(String, Value)> {
    if u.ratio(1, 10)? {
        return Ok((string(u, tool_names())?, value(u, 3, argument_names(), tool_names())?));
    }
    let name = *u.choose(tool_names())?;
    let schema = schemas().iter().find(|(n, _)| *n == name).map_or(Value::Null, |(_, s)| s.clone());
    let mut args = if schema.is_null() {
        // A meta tool: the arguments they take, with catalogue names as values.
        let mut map = Map::new();
        for key in ["name", "tool", "toolset", "query", "arguments", "limit"] {
            if u.ratio(1, 2)? {
                let v = match key {
                    "name" | "tool" => Value::String((*u.choose(tool_names())?).to_owned()),
                    "toolset" => Value::String((*u.choose(toolset_names())?).to_owned()),
                    "arguments" => tool_call(u)?.1,
                    _ => value(u, 1, argument_names(), tool_names())?,
                };
                map.insert(key.to_owned(), v);
            }
        }
        Value::Object(map)
    } else {
        object_from_schema(u, &schema, 4)?
    };
    if u.ratio(1, 20)? {
        args = value(u, 2, argument_names(), tool_names())?;
    }
    Ok((name.to_owned(), args))
}

/// The protocol versions clients send (and some they do not).
pub const PROTOCOL_VERSIONS: &[&str] =
    &["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28", "2099-01-01", "", "latest"];

/// JSON-RPC methods of MCP, and some that are not.
pub const METHODS: &[&str] = &[
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "prompts/list",
    "prompts/get",
    "logging/setLevel",
    "completion/complete",
    "server/discover",
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/roots/list_changed",
    "sampling/createMessage",
    "rpc.discover",
    "",
];

/// A JSON-RPC id: numbers, strings, null, or something no id may be.
fn id(u: &mut Unstructured) -> Result<Value> {
    Ok(match u.int_in_range(0..=5)? {
        0 => json!(u.int_in_range(0..=5)?),
        1 => Value::String(string(u, &["1", "a"])?),
        2 => Value::Null,
        3 => number(u)?,
        4 => json!({"x": 1}),
        _ => json!(u.int_in_range(0..=1_000_000)?),
    })
}

/// `params` for `method`: well-formed for MCP's own methods more often than not.
fn params(u: &mut Unstructured, method: &str) -> Result<Value> {
    if u.ratio(1, 6)? {
        return value(u, 3, &["name", "arguments", "_meta", "protocolVersion", "cursor", "level"], tool_names());
    }
    let mut p = match method {
        "initialize" => initialize_params(u)?,
        "tools/call" => {
            let (name, arguments) = tool_call(u)?;
            json!({"name": name, "arguments": arguments})
        }
        "tools/list" | "resources/list" | "prompts/list" => {
            if u.arbitrary()? {
                json!({"cursor": string(u, &["0", "1", "10000"])?})
            } else {
                json!({})
            }
        }
        "logging/setLevel" => json!({"level": *u.choose(&["debug", "info", "warning", "error", "emergency", "loud"])?}),
        "notifications/cancelled" => json!({"requestId": id(u)?, "reason": string(u, &[])?}),
        "notifications/progress" => json!({"progressToken": id(u)?, "progress": number(u)?, "total": number(u)?}),
        "completion/complete" => {
            json!({"ref": {"type": "ref/prompt", "name": "x"}, "argument": {"name": "a", "value": "b"}})
        }
        _ => json!({}),
    };
    if u.ratio(1, 4)?
        && let Some(obj) = p.as_object_mut()
    {
        let mut meta = Map::new();
        if u.arbitrary()? {
            meta.insert("progressToken".into(), id(u)?);
        }
        if u.arbitrary()? {
            meta.insert("io.modelcontextprotocol/protocolVersion".into(), json!(*u.choose(PROTOCOL_VERSIONS)?));
        }
        if u.arbitrary()? {
            meta.insert(string(u, &["io.modelcontextprotocol/clientInfo"])?, value(u, 1, &[], &[])?);
        }
        obj.insert("_meta".into(), Value::Object(meta));
    }
    Ok(p)
}

/// `initialize`'s parameters.
pub fn initialize_params(u: &mut Unstructured) -> Result<Value> {
    Ok(json!({
        "protocolVersion": *u.choose(PROTOCOL_VERSIONS)?,
        "capabilities": if u.ratio(3, 4)? { json!({}) } else { value(u, 2, &["roots", "sampling", "elicitation", "experimental"], &[])? },
        "clientInfo": {"name": string(u, &["fuzz"])?, "version": "0"},
    }))
}

/// A well-formed `initialize` request.
pub fn initialize(version: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
           "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "fuzz", "version": "0"}}})
}

/// One JSON-RPC message (request, notification, response, error or batch),
/// mostly well formed, sometimes with a field broken or missing.
pub fn message(u: &mut Unstructured, depth: u32) -> Result<Value> {
    let method = if u.ratio(1, 12)? { string(u, METHODS)? } else { (*u.choose(METHODS)?).to_owned() };
    let mut m = match u.int_in_range(0..=9)? {
        0 => json!({"jsonrpc": "2.0", "id": id(u)?, "result": value(u, 2, &[], &[])?}),
        1 => json!({"jsonrpc": "2.0", "id": id(u)?, "error": {"code": number(u)?, "message": string(u, &[])?}}),
        2 if depth > 0 => {
            let n = u.int_in_range(0..=4)?;
            return Ok(Value::Array((0..n).map(|_| message(u, depth - 1)).collect::<Result<_>>()?));
        }
        3 => json!({"jsonrpc": "2.0", "method": method, "params": params(u, &method)?}),
        _ => json!({"jsonrpc": "2.0", "id": id(u)?, "method": method, "params": params(u, &method)?}),
    };
    if u.ratio(1, 8)?
        && let Some(obj) = m.as_object_mut()
    {
        match u.int_in_range(0..=3)? {
            0 => {
                obj.remove("jsonrpc");
            }
            1 => {
                obj.insert("jsonrpc".into(), value(u, 0, &[], &["1.0", "2.0 "])?);
            }
            2 => {
                obj.remove("params");
            }
            _ => {
                obj.insert(string(u, &["id", "method", "params", "result", "error"])?, value(u, 1, &[], &[])?);
            }
        }
    }
    Ok(m)
}

/// Bytes shown as text in failure reports (lossy, with escapes).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = String::from_utf8_lossy(&self.0);
        if text.chars().count() > 2000 {
            let head: String = text.chars().take(2000).collect();
            write!(f, "{head:?}… ({} bytes)", self.0.len())
        } else {
            write!(f, "{text:?}")
        }
    }
}

/// Bytes of a message body (or stdio line): a JSON-RPC message, raw bytes,
/// text that never closes, or a message cut short.
pub fn body(u: &mut Unstructured) -> Result<Vec<u8>> {
    Ok(match u.int_in_range(0..=9)? {
        0 => u.arbitrary::<Vec<u8>>()?,
        1 => unclosed(u)?.into_bytes(),
        2 => {
            let mut text = message(u, 1)?.to_string().into_bytes();
            let cut = u.int_in_range(0..=text.len())?;
            text.truncate(cut);
            text
        }
        3 => value(u, 3, &["jsonrpc", "id", "method", "params"], METHODS)?.to_string().into_bytes(),
        _ => message(u, 1)?.to_string().into_bytes(),
    })
}
