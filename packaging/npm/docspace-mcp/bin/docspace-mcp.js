#!/usr/bin/env node
// The npm launcher: runs the prebuilt docspace-mcp binary of this platform, which npm installed
// as one of this package's optionalDependencies (each platform package declares its `os` and
// `cpu`, so npm installs only the matching one, as esbuild and Biome ship theirs).
//
// stdio is inherited: over stdio, stdout carries only MCP messages, so this script never writes
// to it. The exit code (or the signal) of the binary is passed on.
"use strict";

const { spawn } = require("node:child_process");
const path = require("node:path");

const platforms = require("../platforms.json");

function binaryPath() {
  const override = process.env.DOCSPACE_MCP_BINARY;
  if (override) return override;
  const entry = Object.values(platforms).find(
    (p) => typeof p === "object" && p.os === process.platform && p.cpu === process.arch,
  );
  if (!entry) {
    throw new Error(
      `docspace-mcp has no prebuilt binary for ${process.platform}-${process.arch}; ` +
        "build it from source (cargo install --git https://github.com/docspace-mcp/docspace-mcp) " +
        "and set DOCSPACE_MCP_BINARY to its path",
    );
  }
  const exe = process.platform === "win32" ? "docspace-mcp.exe" : "docspace-mcp";
  try {
    return require.resolve(`${entry.package}/bin/${exe}`);
  } catch {
    throw new Error(
      `the package ${entry.package} (docspace-mcp's binary for ${process.platform}-${process.arch}) is not ` +
        "installed: npm skips optional dependencies with --omit=optional or --no-optional; reinstall without it",
    );
  }
}

let binary;
try {
  binary = binaryPath();
} catch (e) {
  process.stderr.write(`docspace-mcp: ${e.message}\n`);
  process.exit(1);
}

const child = spawn(binary, process.argv.slice(2), { stdio: "inherit", windowsHide: true });
// Pass termination signals on, so stopping the launcher stops the server rather than orphaning it.
const forwarded = ["SIGINT", "SIGTERM", "SIGHUP"];
for (const signal of forwarded) process.on(signal, () => child.kill(signal));
child.on("error", (e) => {
  process.stderr.write(`docspace-mcp: cannot run ${path.resolve(binary)}: ${e.message}\n`);
  process.exit(1);
});
child.on("exit", (code, signal) => {
  if (signal) {
    // Die of the same signal, so a supervisor sees what happened to the server.
    for (const s of forwarded) process.removeAllListeners(s);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 1);
});
