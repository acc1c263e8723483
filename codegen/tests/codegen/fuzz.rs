//! The spec normaliser's fuzz target (issue 14): `prepare` — parse, 3.1
//! downgrade, the wire and client rules — and the catalogue built from its
//! result, on (a) arbitrary text (YAML and JSON that never closes, alias
//! bombs, bytes) and (b) the mini fixtures mutated as documents: a key
//! removed, a value replaced by anything, a subtree copied elsewhere, `$ref`s
//! pointing anywhere (themselves included), the version changed. Each must
//! return `Ok` or `Err` within the time bound, never panic. `cargo test` runs
//! a bounded number of inputs; `cargo bolero test` runs it under libFuzzer
//! (docs/testing.md, "Fuzzing").

use std::panic::AssertUnwindSafe;
use std::sync::OnceLock;
use std::time::Duration;

use arbitrary::{Arbitrary, Result, Unstructured};
use docspace_mcp_codegen::{Overlay, generate_catalogue, prepare};
use serde_json::{Map, Value, json};

use crate::common::fixture;

/// Keys with meaning to the normaliser, drawn as object keys.
const KEYS: &[&str] = &[
    "$ref",
    "type",
    "items",
    "properties",
    "additionalProperties",
    "required",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "nullable",
    "format",
    "enum",
    "const",
    "examples",
    "example",
    "default",
    "exclusiveMinimum",
    "contentMediaType",
    "in",
    "name",
    "schema",
    "style",
    "explode",
    "content",
    "requestBody",
    "parameters",
    "responses",
    "operationId",
    "tags",
    "paths",
    "components",
    "schemas",
    "openapi",
    "info",
    "version",
    "multipart/form-data",
    "application/json",
    "get",
    "post",
    "delete",
    "trace",
];

/// Strings with meaning to the normaliser.
const STRINGS: &[&str] = &[
    "#/components/schemas/FileWrapper",
    "#/components/schemas/",
    "#/components/parameters/x",
    "#",
    "#/",
    "#/paths/~1api~12.0~1files~1file~1{fileId}",
    "#/components/schemas/a~0b~1c",
    "https://example.com/x.yaml#/A",
    "object",
    "array",
    "string",
    "integer",
    "null",
    "binary",
    "date-time",
    "query",
    "path",
    "header",
    "deepObject",
    "3.0.3",
    "3.1.0",
    "2.0",
    "getFileInfo",
    "GetFileInfo",
    "get_file_info",
    "",
];

fn text(u: &mut Unstructured, extra: &[&str]) -> Result<String> {
    Ok(if u.ratio(2, 3)? { (*u.choose(extra)?).to_owned() } else { u.arbitrary()? })
}

fn value(u: &mut Unstructured, depth: u32) -> Result<Value> {
    Ok(match u.int_in_range(0..=if depth == 0 { 3 } else { 5 })? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => json!(*u.choose(&[0i64, -1, 1, i64::MAX, i64::MIN])?),
        3 => Value::String(text(u, STRINGS)?),
        4 => Value::Array((0..u.int_in_range(0..=3)?).map(|_| value(u, depth - 1)).collect::<Result<_>>()?),
        _ => {
            let mut map = Map::new();
            for _ in 0..u.int_in_range(0..=4)? {
                map.insert(text(u, KEYS)?, value(u, depth - 1)?);
            }
            Value::Object(map)
        }
    })
}

/// The mini fixtures as documents, parsed once.
fn fixtures() -> &'static [Value] {
    static DOCS: OnceLock<Vec<Value>> = OnceLock::new();
    DOCS.get_or_init(|| {
        ["mini-3.0.yaml", "mini-3.1.yaml"]
            .iter()
            .map(|name| docspace_mcp_codegen::spec::parse(&fixture(name)).expect("the fixture parses"))
            .collect()
    })
}

/// A pointer to a random node of `doc` (the walk stops at a random depth).
fn pick(u: &mut Unstructured, doc: &Value) -> Result<Vec<String>> {
    let mut path = Vec::new();
    let mut node = doc;
    loop {
        let keys: Vec<String> = match node {
            Value::Object(m) => m.keys().cloned().collect(),
            Value::Array(a) => (0..a.len()).map(|i| i.to_string()).collect(),
            _ => break,
        };
        if keys.is_empty() || u.ratio(1, 5)? {
            break;
        }
        let key = u.choose(&keys)?.clone();
        node = match node {
            Value::Object(m) => &m[&key],
            Value::Array(a) => &a[key.parse::<usize>().unwrap_or(0)],
            _ => break,
        };
        path.push(key);
    }
    Ok(path)
}

fn pointer(path: &[String]) -> String {
    path.iter().map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1"))).collect()
}

/// One edit of a document.
fn mutate(u: &mut Unstructured, doc: &mut Value) -> Result<()> {
    let at = pick(u, doc)?;
    let here = pointer(&at);
    match u.int_in_range(0..=6)? {
        0 => {
            // Remove the node.
            let (parent, last) = (pointer(&at[..at.len().saturating_sub(1)]), at.last().cloned());
            match (doc.pointer_mut(&parent), last) {
                (Some(Value::Object(m)), Some(k)) => {
                    m.remove(&k);
                }
                (Some(Value::Array(a)), Some(k)) => {
                    if let Ok(i) = k.parse::<usize>()
                        && i < a.len()
                    {
                        a.remove(i);
                    }
                }
                _ => {}
            }
        }
        1 => {
            // Copy another subtree here.
            let from = pointer(&pick(u, doc)?);
            if let Some(copy) = doc.pointer(&from).cloned()
                && let Some(slot) = doc.pointer_mut(&here)
            {
                *slot = copy;
            }
        }
        2 => {
            // A `$ref` to any node (this one or an ancestor: a cycle).
            let target = if u.arbitrary()? { here.clone() } else { pointer(&pick(u, doc)?) };
            if let Some(slot) = doc.pointer_mut(&here) {
                *slot = json!({"$ref": format!("#{target}")});
            }
        }
        3 => {
            // A key added to an object.
            let (k, v) = (text(u, KEYS)?, value(u, 2)?);
            if let Some(Value::Object(m)) = doc.pointer_mut(&here) {
                m.insert(k, v);
            }
        }
        4 => {
            if let Some(root) = doc.as_object_mut() {
                root.insert("openapi".into(), json!(text(u, &["3.0.0", "3.1.0", "3.1", "3.0", "4.0", " 3.1.1 "])?));
            }
        }
        _ => {
            // Anything in place of the node.
            let v = value(u, 3)?;
            if let Some(slot) = doc.pointer_mut(&here) {
                *slot = v;
            }
        }
    }
    Ok(())
}

/// A description to prepare.
pub struct Spec(String);

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let head: String = self.0.chars().take(4000).collect();
        write!(f, "{head:?} ({} bytes)", self.0.len())
    }
}

impl<'a> Arbitrary<'a> for Spec {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Spec(match u.int_in_range(0..=9)? {
            0 => u.arbitrary()?,
            1 => {
                // Nesting past the parser's recursion limit, as deep as an
                // input of the fuzzer's largest size can hold. (libyaml scans
                // nested flow collections in quadratic time, whole, before
                // serde_yaml's limit applies: 50,000 `{a: ` take 20 s in a
                // debug build. Only the operator's own description reaches
                // the parser, at build time; see docs/testing.md.)
                let unit = *u.choose(&["[", "{a: ", "- ", "{\"a\":", "a:\n  "])?;
                unit.repeat(u.int_in_range(100..=4_000)?)
            }
            2 => {
                // An alias bomb, as deep as chosen.
                let levels = u.int_in_range(1..=12)?;
                let mut s = String::from("openapi: 3.0.3\na0: &a0 [x, x, x, x, x, x, x, x, x]\n");
                for i in 1..=levels {
                    let prev = format!("*a{}", i - 1);
                    s.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 9].join(", ")));
                }
                s.push_str(&format!("paths: *a{levels}\n"));
                s
            }
            3 => {
                let mut t = fixture(u.choose(&["mini-3.0.yaml", "mini-3.1.yaml"])?);
                let cut = u.int_in_range(0..=t.len())?;
                while !t.is_char_boundary(cut.min(t.len())) {
                    t.pop();
                }
                t.truncate(cut.min(t.len()));
                t
            }
            _ => {
                let docs = fixtures();
                let mut doc = u.choose(docs)?.clone();
                for _ in 0..u.int_in_range(1..=8)? {
                    mutate(u, &mut doc)?;
                }
                if u.ratio(1, 3)? { serde_yaml::to_string(&doc).unwrap_or_default() } else { doc.to_string() }
            }
        }))
    }
}

/// `prepare`, then the catalogue, on another thread within `limit`.
fn run(spec: &str, limit: Duration) {
    let text = spec.to_owned();
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::Builder::new()
        .name("fuzz-spec".into())
        .spawn(move || {
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
                if let Ok(prepared) = prepare(&text) {
                    let _ = generate_catalogue(&prepared, &Overlay::default());
                }
            }));
            let _ = tx.send(outcome.map_err(|p| {
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default()
            }));
        })
        .expect("a thread");
    match rx.recv_timeout(limit) {
        Ok(Ok(())) => {
            let _ = worker.join();
        }
        Ok(Err(message)) => panic!("prepare panicked: {message}"),
        Err(_) => panic!("prepare took longer than {limit:?} (a hang)"),
    }
}

#[test]
fn spec_normaliser() {
    bolero::check!()
        .with_arbitrary::<Spec>()
        .with_iterations(300)
        .with_test_time(Duration::from_secs(8))
        .with_max_len(16 * 1024)
        .for_each(|spec| run(&spec.0, Duration::from_secs(10)));
}
