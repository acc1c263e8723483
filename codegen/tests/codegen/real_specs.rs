//! The real DocSpace descriptions: 3.7.0 (the pinned one) and 3.5.0 (an
//! older release) both generate a client and a catalogue.

use std::collections::BTreeSet;

use crate::common::{catalogue, pinned_spec, real_spec};

#[test]
fn docspace_3_7_0() {
    let p = docspace_mcp_codegen::prepare(&pinned_spec()).unwrap();
    assert_eq!(p.api_version(), "3.7.0");
    let r = &p.report;
    // The problem classes of progenitor-notes.md §1, as found in 3.7.0.
    assert_eq!(r.count("multipart-body"), Some(12));
    assert_eq!(r.count("deep-object-param"), Some(19));
    assert_eq!(r.count("unsupported-method"), Some(1));
    assert_eq!(r.count("property-name-collision"), Some(1));
    assert_eq!(r.count("object-query-param"), Some(2));
    assert_eq!(r.count("date-time-wrapper"), Some(1));
    assert!(r.count("closed-objects").unwrap() > 400);
    let c = catalogue(&p, "");
    assert_eq!(c.tools.len(), 593, "one tool per operation but the OPTIONS one");
    let names: BTreeSet<&str> = c.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names.len(), 593);
    assert_eq!(c.tools.iter().filter(|t| t.multipart).count(), 12);
    assert_eq!(c.tools.iter().filter(|t| t.read_only).count(), 252);
    assert!(c.tools.iter().all(|t| t.name.len() <= 64));
    for name in ["get_file_info", "get_folder_by_folder_id", "create_room", "get_all_profiles", "upload_file"] {
        assert!(names.contains(name), "{name}");
    }
}

#[test]
fn docspace_3_5_0_generates() {
    let p = docspace_mcp_codegen::prepare(&real_spec("DOCSPACE_OPENAPI_3_5", "../shared/openapi/docspace-3.5.0.yaml"))
        .unwrap();
    assert_eq!(p.api_version(), "3.5.0");
    let c = catalogue(&p, "");
    assert!(c.tools.len() >= 490, "{} tools", c.tools.len());
    let code = docspace_mcp_codegen::generate_client(&p).unwrap();
    syn::parse_file(&code).expect("the 3.5.0 client is valid Rust");
    assert!(code.contains("pub async fn dispatch"));
}

/// The response-fidelity report on both real descriptions: the operations
/// whose declared answers the client does not decode as declared.
#[test]
fn response_fidelity_on_both_descriptions() {
    use docspace_mcp_codegen::responses;
    for (text, version) in [
        (pinned_spec(), "3.7.0"),
        (real_spec("DOCSPACE_OPENAPI_3_5", "../shared/openapi/docspace-3.5.0.yaml"), "3.5.0"),
    ] {
        let r = responses::report(&text).unwrap();
        if let Ok(dir) = std::env::var("DOCSPACE_DIFF_OUT") {
            std::fs::write(format!("{dir}/responses-{version}.md"), r.markdown()).unwrap();
        }
        eprintln!("{version}: {} operations, {} with gaps: {:?}", r.operations, r.operations_with_gaps(), r.tolerant);
        assert_eq!(r.api_version, version);
        // The `{utcTime, timeZoneOffset}` wrapper is declared and rewritten to a string: every answer with a date.
        assert!(r.count("shape-rewritten") > 50, "{}", r.markdown());
        let file_info = r.gaps.iter().find(|g| g.operation_id == "getFileInfo").expect("getFileInfo has dated answers");
        assert!(file_info.detail.contains("`ApiDateTime` (object declared, string decoded)"), "{file_info:?}");
        assert!(r.count("untyped-multipart") >= 5, "{}", r.markdown());
        let mut sorted = r.gaps.clone();
        sorted.sort();
        assert_eq!(sorted, r.gaps);
    }
}
