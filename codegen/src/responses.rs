//! Response fidelity: the operations whose declared success responses the
//! generated client cannot decode as declared, and what its tolerant
//! decoding falls back on (`docspace-mcp tools responses`).
//!
//! The catalogue's snapshots cover inputs. Responses are decoded by the
//! progenitor client, built from the description after the normalisation
//! rules, and every answer reaches the model as DocSpace sent it; a typed
//! decode that fails only flags it. This report says, per operation, where
//! the description and the client part, so a reviewer knows where
//! DocSpace's description and its behaviour may part too:
//!
//! | kind | the description declares | the client |
//! |---|---|---|
//! | `shape-rewritten` | a schema the wire rules rewrote (`{utcTime, timeZoneOffset}` objects) | decodes the wire shape; an answer in the declared shape fails the typed decode and is returned as it came, flagged |
//! | `no-body-declared` | a 2xx answer with no content | expects nothing; DocSpace's JSON answer is passed on undecoded |
//! | `no-success-declared` | no 2xx answer at all | takes any 2xx and passes it on undecoded |
//! | `not-json` | a 2xx answer in another media type | returns the bytes (a JSON answer is still parsed) |
//! | `several-success` | more than one 2xx answer | decodes them all as the first |
//! | `untyped-multipart` | a multipart request's typed answer | the handwritten multipart client parses JSON without a type |
//!
//! Besides these, the client decodes more loosely than declared: enums are
//! open, required members optional, dates plain strings, closed objects open.
//! Those never fail a decode and are counted per operation, not listed.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::spec::{self, METHODS, resolve_ref};
use crate::{Prepared, Result};

/// One operation whose declared answer the client does not decode as declared.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Gap {
    /// operationId.
    pub operation_id: String,
    /// `METHOD path`.
    pub operation: String,
    /// What kind of gap (see the module's table).
    pub kind: String,
    /// In words, with what tolerant decoding falls back on.
    pub detail: String,
}

/// The report over one description.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// `info.version`.
    pub api_version: String,
    /// Operations looked at.
    pub operations: usize,
    /// The gaps, sorted by operationId and kind.
    pub gaps: Vec<Gap>,
    /// Operations whose answers the client decodes more loosely than declared, per relaxation.
    pub tolerant: BTreeMap<String, usize>,
}

impl Report {
    /// Operations with at least one gap.
    pub fn operations_with_gaps(&self) -> usize {
        self.gaps.iter().map(|g| g.operation_id.as_str()).collect::<BTreeSet<_>>().len()
    }

    /// Gaps of one kind.
    pub fn count(&self, kind: &str) -> usize {
        self.gaps.iter().filter(|g| g.kind == kind).count()
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for g in &self.gaps {
            *kinds.entry(g.kind.as_str()).or_default() += 1;
        }
        let mut out = format!(
            "# Response fidelity: DocSpace API {}\n\n{} operations; {} whose declared answers the generated client does not \
             decode as declared.\n\n| kind | operations |\n|---|---:|\n",
            self.api_version,
            self.operations,
            self.operations_with_gaps()
        );
        for (k, n) in &kinds {
            out.push_str(&format!("| `{k}` | {n} |\n"));
        }
        out.push_str("\nDecoded more loosely than declared (never a failed decode):\n\n| relaxation | operations |\n|---|---:|\n");
        for (k, n) in &self.tolerant {
            out.push_str(&format!("| {k} | {n} |\n"));
        }
        out.push_str("\n| operation | | kind | what the client does |\n|---|---|---|---|\n");
        for g in &self.gaps {
            out.push_str(&format!(
                "| `{}` | `{}` | `{}` | {} |\n",
                g.operation_id,
                g.operation,
                g.kind,
                g.detail.replace('|', "\\|")
            ));
        }
        out
    }
}

/// Component schemas reachable from `v` (transitively), by name.
fn reached(doc: &Value, v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(r) = m.get("$ref").and_then(Value::as_str)
                && let Some(name) = r.strip_prefix("#/components/schemas/")
                && out.insert(name.to_owned())
                && let Some(target) = resolve_ref(doc, r)
            {
                reached(doc, target, out);
            }
            for child in m.values() {
                reached(doc, child, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|c| reached(doc, c, out)),
        _ => {}
    }
}

fn ty(s: &Value) -> String {
    match s.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(other) => other.to_string(),
        None if s.get("properties").is_some() => "object".into(),
        None => "any".into(),
    }
}

/// Builds the report for a description's text.
pub fn report(text: &str) -> Result<Report> {
    let mut raw = spec::parse(text)?;
    spec::downgrade_31(&mut raw);
    let prepared: Prepared = crate::prepare_value(raw.clone())?;
    let client = &prepared.client_doc;
    let multipart: BTreeSet<&str> = prepared.multipart.iter().map(|m| m.operation_id.as_str()).collect();
    let mut out = Report { api_version: prepared.api_version().to_owned(), ..Report::default() };
    let empty = serde_json::Map::new();
    for (path, item) in raw.get("paths").and_then(Value::as_object).unwrap_or(&empty) {
        for method in METHODS.iter().filter(|m| !matches!(**m, "options" | "trace")) {
            let Some(op) = item.get(*method) else { continue };
            let Some(id) = op.get("operationId").and_then(Value::as_str) else { continue };
            out.operations += 1;
            let operation = format!("{} {path}", method.to_uppercase());
            let mut gap = |kind: &str, detail: String| {
                out.gaps.push(Gap {
                    operation_id: id.to_owned(),
                    operation: operation.clone(),
                    kind: kind.into(),
                    detail,
                });
            };
            let responses = op.get("responses").and_then(Value::as_object).unwrap_or(&empty);
            let success: Vec<(&String, &Value)> = responses
                .iter()
                .filter(|(code, _)| code.starts_with('2'))
                .map(|(c, r)| (c, spec::deref(&raw, r)))
                .collect();
            let Some((first_code, first)) = success.first() else {
                gap(
                    "no-success-declared",
                    "no 2xx answer is declared: any 2xx is taken and passed on as it came, undecoded".into(),
                );
                continue;
            };
            if success.len() > 1 {
                let codes: Vec<&str> = success.iter().map(|(c, _)| c.as_str()).collect();
                gap(
                    "several-success",
                    format!("2xx answers {} are declared: all are decoded as {first_code}'s", codes.join(", ")),
                );
            }
            let content = first.get("content").and_then(Value::as_object);
            let Some(content) = content.filter(|c| !c.is_empty()) else {
                gap(
                    "no-body-declared",
                    format!("{first_code} declares no body: DocSpace's JSON answer is passed on undecoded"),
                );
                continue;
            };
            let Some(json) = content.iter().find(|(t, _)| t.contains("json")).map(|(_, m)| m) else {
                let types: Vec<&str> = content.keys().map(String::as_str).collect();
                gap(
                    "not-json",
                    format!(
                        "{first_code} is declared as {}: returned as bytes (a JSON answer is still parsed)",
                        types.join(", ")
                    ),
                );
                continue;
            };
            if multipart.contains(id) {
                gap(
                    "untyped-multipart",
                    "a multipart operation: the handwritten multipart client parses the JSON answer without its type"
                        .into(),
                );
                continue;
            }
            let Some(schema) = json.get("schema") else { continue };
            let mut names = BTreeSet::new();
            reached(&raw, schema, &mut names);
            let mut rewritten = Vec::new();
            let mut relaxed: BTreeSet<&str> = BTreeSet::new();
            let (declared_schemas, client_schemas) =
                (raw.pointer("/components/schemas"), client.pointer("/components/schemas"));
            for name in &names {
                let (Some(declared), Some(decoded)) =
                    (declared_schemas.and_then(|s| s.get(name)), client_schemas.and_then(|s| s.get(name)))
                else {
                    continue;
                };
                if ty(declared) != ty(decoded) {
                    rewritten.push(format!("`{name}` ({} declared, {} decoded)", ty(declared), ty(decoded)));
                }
                let mut looser = |found: fn(&Value) -> bool, label: &'static str| {
                    let mut any = false;
                    let mut d = declared.clone();
                    spec::walk_schema(&mut d, &mut |s| any |= found(s));
                    if any {
                        relaxed.insert(label);
                    }
                };
                looser(|s| s.get("enum").is_some(), "enums open (any value decodes)");
                looser(|s| s.get("required").is_some(), "required members optional");
                looser(|s| s.get("additionalProperties") == Some(&Value::Bool(false)), "closed objects open");
                if declared.to_string().contains("\"format\":\"date") {
                    relaxed.insert("dates decoded as plain strings");
                }
            }
            if !rewritten.is_empty() {
                gap(
                    "shape-rewritten",
                    format!(
                        "reaches {} (the wire rules' rewrite): an answer in the declared shape fails the typed decode and \
                         is returned as it came, flagged",
                        rewritten.join(", ")
                    ),
                );
            }
            for r in relaxed {
                *out.tolerant.entry(r.to_owned()).or_default() += 1;
            }
        }
    }
    out.gaps.sort();
    Ok(out)
}
