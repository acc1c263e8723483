//! Comparing two versions of a tool's schemas, keyword by keyword.
//!
//! Input schemas describe what a client sends, so anything that refuses a
//! call that was valid before is breaking: a parameter removed or newly
//! required, a type changed or narrowed, an enum value removed, a format,
//! bound or pattern added or tightened, a default changed (the same call
//! now means something else). Loosening any of them, an optional parameter
//! added and descriptions are compatible.
//!
//! Output schemas are lenient by construction (no `required`, every leaf
//! admits `null`), so what can break a structured-content consumer is a
//! member it reads disappearing or changing type.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{Changes, Impact};

/// Nesting beyond this is not compared (recursion is cut earlier in the
/// schemas themselves; this is a guard).
const MAX_DEPTH: usize = 12;

fn join(at: &str, name: &str) -> String {
    if at.is_empty() { name.to_owned() } else { format!("{at}.{name}") }
}

/// The types a schema admits, `null` aside (empty: any).
fn types(s: &Value) -> BTreeSet<String> {
    match s.get("type") {
        Some(Value::String(t)) => [t.clone()].into(),
        Some(Value::Array(ts)) => {
            ts.iter().filter_map(Value::as_str).filter(|t| *t != "null").map(str::to_owned).collect()
        }
        _ => BTreeSet::new(),
    }
}

fn shown(types: &BTreeSet<String>) -> String {
    if types.is_empty() { "any".into() } else { types.iter().cloned().collect::<Vec<_>>().join("|") }
}

fn required(s: &Value) -> BTreeSet<&str> {
    s.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect()
}

fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 80 { format!("{}…", text.chars().take(79).collect::<String>()) } else { text }
}

/// A union's branches, descriptions aside, as comparable text.
fn branches(s: &Value) -> Option<BTreeSet<String>> {
    let all = s.get("anyOf").or_else(|| s.get("oneOf"))?.as_array()?;
    Some(all.iter().map(|b| strip_descriptions(b).to_string()).collect())
}

fn strip_descriptions(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| k.as_str() != "description" && k.as_str() != "title")
                .map(|(k, v)| (k.clone(), if k == "properties" { strip_map(v) } else { strip_descriptions(v) }))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_descriptions).collect()),
        other => other.clone(),
    }
}

/// Property maps keep every key (a property may be called `description`).
fn strip_map(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), strip_descriptions(v))).collect()),
        other => other.clone(),
    }
}

/// Compares an input schema at `at` (empty: the tool's arguments object).
pub(super) fn input(c: &mut Changes<'_>, at: &str, old: &Value, new: &Value, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    let here = if at.is_empty() { "the arguments".to_owned() } else { format!("`{at}`") };
    match (branches(old), branches(new)) {
        (Some(a), Some(b)) => {
            let (gone, came) = (a.difference(&b).count(), b.difference(&a).count());
            if gone > 0 {
                c.push(at, "union-narrowed", Impact::Breaking, format!("{gone} alternative(s) of {here} removed"));
            }
            if came > 0 {
                c.push(at, "union-widened", Impact::Compatible, format!("{came} alternative(s) of {here} added"));
            }
            return;
        }
        (Some(_), None) => {
            c.push(at, "type-changed", Impact::Breaking, format!("{here} is no longer a union of alternatives"));
            return;
        }
        (None, Some(_)) if !types(old).is_empty() => {
            c.push(at, "type-widened", Impact::Compatible, format!("{here} now also admits other alternatives"));
            return;
        }
        _ => {}
    }
    let (ot, nt) = (types(old), types(new));
    if ot != nt {
        let widened =
            nt.is_empty() || (ot.contains("integer") && nt.contains("number") && ot.len() == 1 && nt.len() == 1);
        let detail = format!("type of {here}: {} → {}", shown(&ot), shown(&nt));
        if widened {
            c.push(at, "type-widened", Impact::Compatible, detail);
        } else if ot.is_empty() {
            c.push(at, "type-narrowed", Impact::Breaking, detail);
        } else {
            c.push(at, "type-changed", Impact::Breaking, detail);
            return; // what is inside a different type is not comparable
        }
    }
    enumeration(c, at, old, new);
    format(c, at, old, new);
    if old.get("default") != new.get("default") {
        let (a, b) = (old.get("default"), new.get("default"));
        let detail = match (a, b) {
            (Some(a), Some(b)) => format!("default of {here}: {} → {}", short(a), short(b)),
            (None, Some(b)) => format!("{here} now defaults to {}", short(b)),
            (Some(a), None) => format!("{here} no longer defaults to {}", short(a)),
            (None, None) => String::new(),
        };
        c.push(at, "default-changed", Impact::Breaking, detail);
    }
    bounds(c, at, old, new);
    if !at.is_empty() && old.get("description") != new.get("description") {
        c.push(at, "description-changed", Impact::Compatible, format!("description of {here} changed"));
    }
    if old.get("deprecated") != new.get("deprecated") && new.get("deprecated") == Some(&Value::Bool(true)) {
        c.push(at, "deprecated", Impact::Compatible, format!("{here} is now deprecated"));
    }
    properties(c, at, old, new, depth);
    if let (Some(a), Some(b)) = (old.get("items"), new.get("items")) {
        input(c, &format!("{at}[]"), a, b, depth + 1);
    }
    if let (Some(a), Some(b)) = (
        old.get("additionalProperties").filter(|v| v.is_object()),
        new.get("additionalProperties").filter(|v| v.is_object()),
    ) {
        input(c, &format!("{at}{{}}"), a, b, depth + 1);
    }
}

fn properties(c: &mut Changes<'_>, at: &str, old: &Value, new: &Value, depth: usize) {
    let empty = serde_json::Map::new();
    let op = old.get("properties").and_then(Value::as_object);
    let np = new.get("properties").and_then(Value::as_object);
    if op.is_none() && np.is_none() {
        return;
    }
    let (op, np) = (op.unwrap_or(&empty), np.unwrap_or(&empty));
    let (or, nr) = (required(old), required(new));
    let names: BTreeSet<&String> = op.keys().chain(np.keys()).collect();
    for name in names {
        let path = join(at, name);
        match (op.get(name), np.get(name)) {
            (Some(_), None) => c.push(
                &path,
                "parameter-removed",
                Impact::Breaking,
                format!("`{path}` removed: calls that send it are refused or it is ignored"),
            ),
            (None, Some(_)) if nr.contains(name.as_str()) => c.push(
                &path,
                "required-parameter-added",
                Impact::Breaking,
                format!("`{path}` added, and required: calls without it are refused"),
            ),
            (None, Some(_)) => c.push(&path, "parameter-added", Impact::Compatible, format!("optional `{path}` added")),
            (Some(a), Some(b)) => {
                let (was, is) = (or.contains(name.as_str()), nr.contains(name.as_str()));
                if !was && is {
                    c.push(&path, "newly-required", Impact::Breaking, format!("`{path}` is now required"));
                } else if was && !is {
                    c.push(&path, "no-longer-required", Impact::Compatible, format!("`{path}` is now optional"));
                }
                input(c, &path, a, b, depth + 1);
            }
            (None, None) => {}
        }
    }
}

fn enumeration(c: &mut Changes<'_>, at: &str, old: &Value, new: &Value) {
    let values = |s: &Value| s.get("enum").and_then(Value::as_array).cloned();
    match (values(old), values(new)) {
        (Some(a), Some(b)) => {
            let gone: Vec<String> = a.iter().filter(|v| !b.contains(v)).map(short).collect();
            let came: Vec<String> = b.iter().filter(|v| !a.contains(v)).map(short).collect();
            if !gone.is_empty() {
                c.push(
                    at,
                    "enum-value-removed",
                    Impact::Breaking,
                    format!("value(s) {} no longer accepted", gone.join(", ")),
                );
            }
            if !came.is_empty() {
                c.push(at, "enum-widened", Impact::Compatible, format!("value(s) {} added", came.join(", ")));
            }
        }
        (None, Some(b)) => c.push(
            at,
            "enum-added",
            Impact::Breaking,
            format!("now limited to {} value(s): {}", b.len(), short(&Value::Array(b.clone()))),
        ),
        (Some(_), None) => {
            c.push(at, "enum-removed", Impact::Compatible, "no longer limited to a list of values".into())
        }
        (None, None) => {}
    }
}

fn format(c: &mut Changes<'_>, at: &str, old: &Value, new: &Value) {
    let f = |s: &Value| s.get("format").and_then(Value::as_str).map(str::to_owned);
    match (f(old), f(new)) {
        (None, Some(b)) => c.push(at, "format-tightened", Impact::Breaking, format!("now format `{b}`")),
        (Some(a), Some(b)) if a != b => {
            c.push(at, "format-tightened", Impact::Breaking, format!("format `{a}` → `{b}`"));
        }
        (Some(a), None) => c.push(at, "format-loosened", Impact::Compatible, format!("no longer format `{a}`")),
        _ => {}
    }
    let p = |s: &Value| s.get("pattern").and_then(Value::as_str).map(str::to_owned);
    match (p(old), p(new)) {
        (None, Some(b)) => c.push(at, "pattern-added", Impact::Breaking, format!("now must match `{b}`")),
        (Some(a), Some(b)) if a != b => {
            c.push(at, "pattern-changed", Impact::Breaking, format!("pattern `{a}` → `{b}`"))
        }
        (Some(_), None) => c.push(at, "pattern-removed", Impact::Compatible, "no longer has a pattern".into()),
        _ => {}
    }
}

/// Lower bounds tighten upwards, upper bounds downwards.
fn bounds(c: &mut Changes<'_>, at: &str, old: &Value, new: &Value) {
    const LOWER: [&str; 4] = ["minimum", "exclusiveMinimum", "minLength", "minItems"];
    const UPPER: [&str; 4] = ["maximum", "exclusiveMaximum", "maxLength", "maxItems"];
    for key in LOWER.iter().chain(UPPER.iter()) {
        let (a, b) = (old.get(*key).and_then(Value::as_f64), new.get(*key).and_then(Value::as_f64));
        let lower = LOWER.contains(key);
        let tighter = match (a, b) {
            (None, Some(_)) => true,
            (Some(_), None) => false,
            (Some(a), Some(b)) if a != b => (b > a) == lower,
            _ => continue,
        };
        let show = |v: Option<f64>| v.map_or_else(|| "none".to_owned(), |v| v.to_string());
        let detail = format!("{key}: {} → {}", show(a), show(b));
        if tighter {
            c.push(at, "bound-tightened", Impact::Breaking, detail);
        } else {
            c.push(at, "bound-loosened", Impact::Compatible, detail);
        }
    }
    if old.get("uniqueItems") != new.get("uniqueItems") && new.get("uniqueItems") == Some(&Value::Bool(true)) {
        c.push(at, "bound-tightened", Impact::Breaking, "items must now be unique".into());
    }
}

/// Compares an output schema at `at` (`output`, `output.member`, …).
pub(super) fn output(c: &mut Changes<'_>, at: &str, old: &Value, new: &Value, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    let (ot, nt) = (types(old), types(new));
    if ot != nt && !ot.is_empty() {
        c.push(at, "output-type-changed", Impact::Breaking, format!("type of `{at}`: {} → {}", shown(&ot), shown(&nt)));
        return;
    }
    let empty = serde_json::Map::new();
    let op = old.get("properties").and_then(Value::as_object).unwrap_or(&empty);
    let np = new.get("properties").and_then(Value::as_object).unwrap_or(&empty);
    let names: BTreeSet<&String> = op.keys().chain(np.keys()).collect();
    for name in names {
        let path = join(at, name);
        match (op.get(name), np.get(name)) {
            (Some(_), None) => c.push(
                &path,
                "output-member-removed",
                Impact::Breaking,
                format!("`{path}` no longer described: consumers that read it get nothing"),
            ),
            (None, Some(_)) => c.push(&path, "output-member-added", Impact::Compatible, format!("`{path}` added")),
            (Some(a), Some(b)) => output(c, &path, a, b, depth + 1),
            (None, None) => {}
        }
    }
    if let (Some(a), Some(b)) = (old.get("items"), new.get("items")) {
        output(c, &format!("{at}[]"), a, b, depth + 1);
    }
}
