// How an MCPB host launches the unpacked bundle: the official @anthropic-ai/mcpb library's
// getMcpConfigForManifest (what hosts build on) turns the manifest's mcp_config and a user's answers
// to user_config into the command, arguments and environment. Prints them as JSON, one object.
//
// Usage: node mcpb_launch.js BUNDLE_DIR USER_CONFIG_JSON
"use strict";

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
// The CLI's copy, pinned by packaging/package-lock.json (scripts/package installs it).
const mcpb = require.resolve("@anthropic-ai/mcpb", { paths: [path.join(__dirname, "..", "..", "packaging")] });
const { getMcpConfigForManifest } = require(mcpb);

async function main() {
  const [dir, answers] = process.argv.slice(2);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));
  const config = await getMcpConfigForManifest({
    manifest,
    extensionPath: path.resolve(dir),
    systemDirs: { HOME: os.homedir(), DESKTOP: os.homedir(), DOCUMENTS: os.homedir(), DOWNLOADS: os.homedir() },
    userConfig: JSON.parse(answers),
    pathSeparator: path.sep,
  });
  if (!config) throw new Error("the host would not start the bundle (a required user_config value is missing)");
  process.stdout.write(JSON.stringify(config) + "\n");
}

main().catch((e) => {
  process.stderr.write(`mcpb_launch: ${e.message}\n`);
  process.exit(1);
});
