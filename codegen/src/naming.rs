//! Tool and toolset names: snake_case of operationIds and tags, and the
//! rules MCP clients enforce on them (`[a-z0-9_]{1,64}`, unique).

use heck::ToSnakeCase;

/// The longest name several clients accept once they add their own prefix.
pub const MAX_NAME_LEN: usize = 64;

/// `getFileInfo` → `get_file_info`.
pub fn tool_name(operation_id: &str) -> String {
    operation_id.to_snake_case()
}

/// `Files / Folders` → `files_folders`, `AI / MCP` → `ai_mcp`.
pub fn toolset_name(tag: &str) -> String {
    tag.to_snake_case()
}

/// Why `name` is not a valid tool or toolset name, if it is not.
pub fn check(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Some(format!("`{name}` must be 1 to {MAX_NAME_LEN} characters long (it has {})", name.len()));
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        return Some(format!("`{name}` may only contain a-z, 0-9 and _"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_cases() {
        assert_eq!(tool_name("getFileInfo"), "get_file_info");
        assert_eq!(tool_name("getRoomsFolder"), "get_rooms_folder");
        assert_eq!(toolset_name("Files / Folders"), "files_folders");
        assert_eq!(toolset_name("AI / MCP"), "ai_mcp");
        assert_eq!(toolset_name("People / Email"), "people_email");
    }

    #[test]
    fn checks() {
        assert!(check("get_file_info").is_none());
        assert!(check("Get").is_some());
        assert!(check("a-b").is_some());
        assert!(check("").is_some());
        assert!(check(&"a".repeat(65)).is_some());
        assert!(check(&"a".repeat(64)).is_none());
    }
}
