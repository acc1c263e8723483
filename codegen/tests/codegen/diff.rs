//! `tools diff`: two small descriptions that differ in every way the report
//! classifies, each difference checked for its kind and impact; dumps read
//! back as the same side; and the real 3.5.0 → 3.7.0 change.

use docspace_mcp_codegen::Overlay;
use docspace_mcp_codegen::diff::{self, Impact, Report, Side};
use serde_json::{Value, json};

use crate::common::{pinned_spec, real_spec, root};

fn spec(paths: Value) -> String {
    json!({
        "openapi": "3.0.4",
        "info": {"title": "t", "version": "1"},
        "tags": [{"name": "Rooms"}, {"name": "Files"}, {"name": "People"}],
        "security": [{"Bearer": []}],
        "paths": paths,
        "components": {"schemas": {
            "Share": {"type": "integer", "enum": [0, 1, 2]},
            "Room": {"type": "object", "properties": {"id": {"type": "integer"}, "title": {"type": "string"}, "owner": {"type": "string"}}}
        }}
    })
    .to_string()
}

fn op(id: &str, tag: &str, params: Value, body: Option<Value>) -> Value {
    let mut o = json!({
        "operationId": id, "summary": id, "tags": [tag], "parameters": params,
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Room"}}}}}
    });
    if let Some(b) = body {
        o["requestBody"] = json!({"content": {"application/json": {"schema": b}}});
    }
    o
}

fn query(name: &str, schema: Value, required: bool) -> Value {
    json!({"name": name, "in": "query", "required": required, "schema": schema})
}

fn old_spec() -> String {
    spec(json!({
        "/rooms": {
            "get": op("getRooms", "Rooms", json!([
                query("count", json!({"type": "integer", "default": 25}), false),
                query("filter", json!({"type": "string"}), false),
                query("share", json!({"$ref": "#/components/schemas/Share"}), false),
                query("gone", json!({"type": "string"}), false),
                query("when", json!({"type": "string"}), false),
                query("size", json!({"type": "integer", "maximum": 100}), false),
            ]), None),
            "post": op("createRoom", "Rooms", json!([]), Some(json!({"type": "object", "properties": {
                "title": {"type": "string"}, "kind": {"type": "string", "enum": ["a", "b"]}, "n": {"type": "integer"}
            }}))),
        },
        "/rooms/{id}": {
            "put": op("updateRoom", "Rooms", json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}]), None),
        },
        "/files/{id}": {
            "get": op("getFile", "Files", json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}]), None),
            "delete": op("deleteFile", "Files", json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}]), None),
        },
        "/people": {"get": op("getPeople", "People", json!([]), None)},
        "/people/self": {"get": op("getSelf", "People", json!([]), None)},
    }))
}

fn new_spec() -> String {
    let mut room = op(
        "getRoomsList",
        "Rooms",
        json!([
            // default changed, description added, enum narrowed (2 removed) and widened (3), `gone` removed,
            // `when` gains a format, `size` a lower maximum, `fresh` optional and `must` required are new.
            {"name": "count", "in": "query", "description": "How many.", "schema": {"type": "integer", "default": 50}},
            query("filter", json!({"type": "string"}), true),
            query("share", json!({"type": "integer", "enum": [0, 1, 3]}), false),
            query("when", json!({"type": "string", "format": "date-time"}), false),
            query("size", json!({"type": "integer", "maximum": 50}), false),
            query("fresh", json!({"type": "boolean"}), false),
            query("must", json!({"type": "boolean"}), true),
        ]),
        None,
    );
    room["responses"]["200"]["content"]["application/json"]["schema"] = json!({"type": "object", "properties": {"id": {"type": "string"}, "title": {"type": "string"}, "extra": {"type": "string"}}});
    spec(json!({
        "/rooms": {
            "get": room,
            "post": op("createRoom", "Rooms", json!([]), Some(json!({"type": "object", "required": ["title"], "properties": {
                "title": {"type": "string"}, "kind": {"type": "string", "enum": ["a", "b", "c"]}, "n": {"type": "number"}
            }}))),
        },
        "/rooms/{id}": {
            "post": op("updateRoom", "Rooms", json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}]), None),
        },
        "/files/{id}": {
            "get": op("getFile", "People", json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}]), None),
        },
        "/people": {"get": op("getPeople", "People", json!([]), None)},
        "/people/self": {"get": op("getSelfProfile", "People", json!([]), None)},
        "/people/new": {"post": op("addPerson", "People", json!([]), None)},
    }))
}

const OVERLAY: &str = r#"
[core]
toolsets = ["basics"]
[tools.getPeople]
name = "list_people"
toolsets = ["basics"]
[tools.getSelfProfile]
name = "get_self"
generated_alias = false
toolsets = ["basics"]
[tools.deleteFile]
hidden = ["id"]
toolsets = ["basics"]
[tools.getFile]
toolsets = ["basics"]
[tools.updateRoom]
hidden = ["nope"]
params = { id = "roomId" }
"#;

fn report() -> Report {
    let overlay = Overlay::parse(OVERLAY).unwrap();
    let old = Side::load("old.json", &old_spec(), &overlay).unwrap();
    let new = Side::load("new.json", &new_spec(), &overlay).unwrap();
    diff::diff(&old, &new)
}

/// The one change of `kind` to `tool` at `at`, with its impact.
fn find(r: &Report, tool: &str, at: &str, kind: &str) -> Impact {
    let found: Vec<_> = r.changes.iter().filter(|c| c.tool == tool && c.at == at && c.kind == kind).collect();
    assert_eq!(
        found.len(),
        1,
        "{tool} {at} {kind}: {:#?}",
        r.changes.iter().filter(|c| c.tool == tool).collect::<Vec<_>>()
    );
    found[0].impact
}

#[test]
fn input_schema_changes_are_classified() {
    let r = report();
    let t = "get_rooms_list";
    use Impact::{Breaking, Compatible};
    assert_eq!(find(&r, t, "count", "default-changed"), Breaking);
    assert_eq!(find(&r, t, "count", "description-changed"), Compatible);
    assert_eq!(find(&r, t, "filter", "newly-required"), Breaking);
    assert_eq!(find(&r, t, "share", "enum-value-removed"), Breaking);
    assert_eq!(find(&r, t, "share", "enum-widened"), Compatible);
    assert_eq!(find(&r, t, "gone", "parameter-removed"), Breaking);
    assert_eq!(find(&r, t, "when", "format-tightened"), Breaking);
    assert_eq!(find(&r, t, "size", "bound-tightened"), Breaking);
    assert_eq!(find(&r, t, "fresh", "parameter-added"), Compatible);
    assert_eq!(find(&r, t, "must", "required-parameter-added"), Breaking);
    // Output: `id` changed type (breaking), `owner` is gone (breaking), `extra` is new.
    assert_eq!(find(&r, t, "output.id", "output-type-changed"), Breaking);
    assert_eq!(find(&r, t, "output.owner", "output-member-removed"), Breaking);
    assert_eq!(find(&r, t, "output.extra", "output-member-added"), Compatible);
    // Body members: `kind` widened, `n` integer → number widened; the body has a required member now.
    let c = "create_room";
    assert_eq!(find(&r, c, "body.kind", "enum-widened"), Compatible);
    assert_eq!(find(&r, c, "body.n", "type-widened"), Compatible);
    assert_eq!(find(&r, c, "body.title", "newly-required"), Breaking);
}

#[test]
fn tools_added_removed_renamed_and_moved() {
    let r = report();
    let added: Vec<&str> = r.added.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(added, ["add_person"]);
    let removed: Vec<&str> = r.removed.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(removed, ["delete_file"]);
    // getRooms → getRoomsList on the same method and path: a rename the old name does not survive.
    let rename = r.renamed.iter().find(|x| x.from == "get_rooms").unwrap();
    assert_eq!(
        (rename.to.as_str(), rename.how.as_str(), rename.old_name_works),
        ("get_rooms_list", "method-and-path", false)
    );
    assert_eq!(rename.operation_id, Some(("getRooms".into(), "getRoomsList".into())));
    assert_eq!(find(&r, "get_rooms_list", "", "tool-renamed"), Impact::Breaking);
    // The overlay keeps `get_self` though the operation was renamed (getSelf → getSelfProfile): that entry
    // no longer applies on the old side, so the old tool is `get_self` (generated), the new one `get_self` (curated).
    assert!(r.changes.iter().all(|c| c.tool != "get_self" || c.kind != "tool-renamed"));
    // updateRoom moved from PUT to POST: same name, method changed, hints changed.
    assert_eq!(find(&r, "update_room", "", "method-changed"), Impact::Breaking);
    assert_eq!(find(&r, "update_room", "", "destructive-hint-changed"), Impact::Breaking);
    assert_eq!(find(&r, "update_room", "", "idempotent-hint-changed"), Impact::Compatible);
    // getFile moved from the Files tag to People.
    let moved = r.moved.iter().find(|m| m.tool == "get_file").unwrap();
    assert_eq!(moved.from, ["files", "basics"]);
    assert_eq!(moved.to, ["people", "basics"]);
    assert_eq!(find(&r, "get_file", "", "toolset-left"), Impact::Breaking);
    assert_eq!(find(&r, "get_file", "", "toolset-joined"), Impact::Compatible);
}

#[test]
fn the_curated_layer_is_reported() {
    let r = report();
    let gone: Vec<&str> = r.curated.no_longer_apply.as_ref().unwrap().iter().map(|p| p.entry.as_str()).collect();
    assert_eq!(gone, ["[tools.deleteFile]"], "{:#?}", r.curated);
    let now: Vec<&str> = r.curated.now_apply.as_ref().unwrap().iter().map(|p| p.entry.as_str()).collect();
    assert_eq!(now, ["[tools.getSelfProfile]"]);
    let failing: Vec<&str> = r.curated.still_failing.as_ref().unwrap().iter().map(|p| p.entry.as_str()).collect();
    assert_eq!(failing, ["[tools.updateRoom] hidden `nope`"], "`nope` is not a parameter of updateRoom on either side");
    let core: Vec<&str> = r.curated.core_affected.iter().map(|c| c.tool.as_str()).collect();
    assert!(core.contains(&"delete_file") && core.contains(&"get_file"), "{core:?}");
    assert!(!core.contains(&"list_people"), "unchanged");
    // The search index: add_person brings `person`; delete_file took `delete` with it.
    assert!(r.search.terms_added.contains(&"person".to_owned()), "{:?}", r.search);
    assert!(r.search.terms_removed.contains(&"delete".to_owned()), "{:?}", r.search);
    assert!(r.search.reindexed >= 3, "{:?}", r.search);
}

#[test]
fn the_parts_of_an_entry_that_apply_are_kept() {
    let overlay = Overlay::parse(OVERLAY).unwrap();
    let new = Side::load("new.json", &new_spec(), &overlay).unwrap();
    let problems: Vec<&str> = new.overlay_problems.as_ref().unwrap().iter().map(|p| p.entry.as_str()).collect();
    assert!(problems.contains(&"[tools.updateRoom] hidden `nope`"), "{problems:?}");
    let update = new.tools.iter().find(|t| t.name == "update_room").unwrap();
    let props = update.input_schema["properties"].as_object().unwrap();
    assert!(props.contains_key("roomId") && !props.contains_key("id"), "the rename still applies: {props:?}");
    // The strict build refuses the same overlay.
    let prepared = docspace_mcp_codegen::prepare(&new_spec()).unwrap();
    let e = docspace_mcp_codegen::generate_catalogue(&prepared, &overlay).unwrap_err().to_string();
    assert!(e.contains("deleteFile") || e.contains("nope"), "{e}");
}

#[test]
fn totals_count_the_changes_and_the_report_is_stable() {
    let r = report();
    let breaking = r.changes.iter().filter(|c| c.impact == Impact::Breaking).count();
    assert_eq!(r.totals.breaking, breaking);
    assert_eq!(r.totals.added + r.totals.removed + r.totals.renamed, 3);
    let mut sorted = r.changes.clone();
    sorted.sort();
    assert_eq!(sorted, r.changes, "changes are sorted");
    assert_eq!(report().markdown(), r.markdown(), "the same inputs give the same report");
    let md = r.markdown();
    assert!(md.contains(&format!("| **breaking changes** | **{}** in", r.totals.breaking)), "{md}");
    assert!(md.contains("### `get_rooms_list`") && md.contains("- **newly-required** `filter`"), "{md}");
    assert!(md.contains("- [tools.deleteFile]: the description has no operation"), "{md}");
    let json: Value = serde_json::from_str(&r.json()).unwrap();
    assert_eq!(json["totals"]["breaking"], r.totals.breaking);
    assert_eq!(json["changes"][0]["impact"], json!(r.changes[0].impact));
}

#[test]
fn a_side_is_the_same_read_from_its_dump_and_identical_sides_do_not_differ() {
    let overlay = Overlay::parse(OVERLAY).unwrap();
    let new = Side::load("new.json", &new_spec(), &overlay).unwrap();
    let dump = new.to_dump().to_string();
    let back = Side::load("dump.json", &dump, &overlay).unwrap();
    assert_eq!(back.tools, new.tools);
    let r = diff::diff(&new, &back);
    assert!(r.changes.is_empty(), "{:#?}", r.changes);
    assert_eq!(r.totals.breaking, 0);
    assert!(r.curated.no_longer_apply.is_none(), "a dump does not know the overlay");
    // A bare tools/list array (any build's `tools list --toolsets all --json`) is read too.
    let list: Vec<Value> = new.to_dump()["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let mut t = t.clone();
            t.as_object_mut().unwrap().remove("x-docspace");
            t
        })
        .collect();
    let bare = Side::load("list.json", &Value::from(list).to_string(), &overlay).unwrap();
    let r = diff::diff(&new, &bare);
    assert!(r.changes.is_empty(), "unknown facts are not compared: {:#?}", r.changes);
}

#[test]
fn docspace_3_5_0_to_3_7_0() {
    let overlay = Overlay::parse(&std::fs::read_to_string(root().join("openapi/tools.toml")).unwrap()).unwrap();
    let old = Side::load(
        "docspace-3.5.0.yaml",
        &real_spec("DOCSPACE_OPENAPI_3_5", "../shared/openapi/docspace-3.5.0.yaml"),
        &overlay,
    )
    .unwrap();
    let new = Side::load("docspace-3.7.0.yaml", &pinned_spec(), &overlay).unwrap();
    assert!(new.overlay_problems.as_ref().unwrap().is_empty(), "tools.toml is curated for 3.7.0");
    let r = diff::diff(&old, &new);
    let md = r.markdown();
    if let Ok(dir) = std::env::var("DOCSPACE_DIFF_OUT") {
        std::fs::write(format!("{dir}/diff-3.5.0-3.7.0.md"), &md).unwrap();
        std::fs::write(format!("{dir}/diff-3.5.0-3.7.0.json"), r.json()).unwrap();
    }
    eprintln!("{:#?}", r.totals);
    assert_eq!(r.old.api_version.as_deref(), Some("3.5.0"));
    assert_eq!(r.new.tools, 604);
    assert!(r.totals.breaking > 0 && r.totals.added > 0);
}
