//! Fixture loading and helpers shared by the codegen tests.

use std::path::PathBuf;

use docspace_mcp_codegen::{Catalogue, Overlay, Prepared, ToolSpec};

pub fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn prepare(name: &str) -> Prepared {
    docspace_mcp_codegen::prepare(&fixture(name)).unwrap()
}

pub fn catalogue(prepared: &Prepared, overlay: &str) -> Catalogue {
    docspace_mcp_codegen::generate_catalogue(prepared, &Overlay::parse(overlay).unwrap()).unwrap().0
}

pub fn tool<'a>(c: &'a Catalogue, name: &str) -> &'a ToolSpec {
    c.tools.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("no tool {name}"))
}

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The pinned DocSpace description, found as the build finds it (offline):
/// `$DOCSPACE_OPENAPI`, `openapi/docspace.yaml`, or the file with the pinned
/// sha256 in `../shared/openapi/`.
pub fn pinned_spec() -> String {
    use docspace_mcp_codegen::source::{self, Lock, Settings};
    let lock = Lock::parse(&std::fs::read_to_string(root().join("openapi/spec.lock")).unwrap()).unwrap();
    let settings = Settings {
        root: root(),
        env_path: std::env::var("DOCSPACE_OPENAPI").ok(),
        url_override: None,
        offline: true,
        pinned_dirs: vec![root().join("../shared/openapi")],
    };
    source::resolve(&settings, &lock)
        .unwrap_or_else(|e| panic!("this test needs the pinned DocSpace description: {e}"))
        .text
}

/// A real DocSpace description: `$var` if set, else `default` (relative to the root).
pub fn real_spec(var: &str, default: &str) -> String {
    let path = std::env::var(var).map(|p| root().join(p)).unwrap_or_else(|_| root().join(default));
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "this test needs a DocSpace description at {} ({e}); set {var} (.ci/run points it at ../shared/openapi)",
            path.display()
        )
    })
}
