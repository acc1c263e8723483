# Everyday commands (https://github.com/casey/just); each is a plain cargo or script call, so they work without just too.

# Format the workspace.
fmt:
    cargo fmt --all

# What CI checks before the tests: formatting, clippy with warnings denied, rustdoc, dependency licences and sources.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets --locked -- -D warnings
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
    cargo deny check licenses bans sources

# Every test, with the independent clients installed (the README's test command).
test *ARGS:
    scripts/test {{ARGS}}

# Only the tests that need nothing but Rust (the interop tests skip).
test-rust *ARGS:
    cargo test --workspace --locked {{ARGS}}

# Review changed catalogue and emitted-code snapshots.
snap:
    cargo insta test --workspace --review

# Regenerate docs/configuration.md from the command line's definitions.
config-reference:
    DOCSPACE_MCP_UPDATE_DOCS=1 cargo test --locked --test integration configuration_reference

# Copy the generated client and catalogue out of the build folder, to read them: target/generated/.
dump-generated:
    cargo build --locked
    mkdir -p target/generated
    cp "$(ls -t target/debug/build/docspace-mcp-client-*/out/client.rs | head -1)" target/generated/client.rs
    cp "$(ls -t target/debug/build/docspace-mcp-*/out/catalogue.rs | head -1)" target/generated/catalogue.rs
    @echo "target/generated/client.rs, target/generated/catalogue.rs"

# The static Linux binary (x86_64-unknown-linux-musl; installs the target and musl-tools).
build-static:
    scripts/build-static

# Package a built binary: npm tarballs, wheel, MCPB bundle, server.json into dist/ (docs/packaging.md).
package TARGET BINARY:
    scripts/package --target {{TARGET}} --binary {{BINARY}}

# Build the static binary, package it and run every install path (npm, wheel, uvx, MCPB, empty root).
test-packaging *ARGS:
    scripts/test-packaging {{ARGS}}
