"""Checks what scripts/package built, file by file: every version string inside the artifacts is
Cargo's (npm package.json files, the wheel's METADATA, the bundle's manifest, server.json), the
release server.json validates against the MCP registry's schema and names each bundle's true
SHA-256, and each package carries the binary it was given, executable.

Usage: python check_artifacts.py DIST BINARY   (with .venv-pack's Python: it needs jsonschema)
Prints one line per check and a closing "N passed, M failed"; exits non-zero on any failure.
"""

import hashlib
import json
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import jsonschema

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tests" / "clients"))
from checks import check, finish  # noqa: E402

dist, binary = Path(sys.argv[1]), Path(sys.argv[2])
with open(ROOT / "Cargo.toml", "rb") as f:
    version = tomllib.load(f)["package"]["version"]
digest = hashlib.sha256(binary.read_bytes()).hexdigest()


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# npm: the launcher and the platform package.
launcher = dist / "npm" / f"docspace-mcp-{version}.tgz"
platform = dist / "npm" / f"docspace-mcp-linux-x64-{version}.tgz"
check("npm: both tarballs are there", launcher.is_file() and platform.is_file(), sorted((dist / "npm").iterdir()))
with tarfile.open(launcher) as t:
    pkg = json.load(t.extractfile("package/package.json"))
    names = set(t.getnames())
    mode = t.getmember("package/bin/docspace-mcp.js").mode
check("npm launcher: version", pkg["version"] == version, pkg["version"])
check("npm launcher: optionalDependencies pin this version",
      set(pkg["optionalDependencies"].values()) == {version}, pkg["optionalDependencies"])
check("npm launcher: bin, platforms.json inside", {"package/bin/docspace-mcp.js", "package/platforms.json"} <= names, names)
check("npm launcher: its script is executable", mode & 0o111, oct(mode))
with tarfile.open(platform) as t:
    ppkg = json.load(t.extractfile("package/package.json"))
    member = t.getmember("package/bin/docspace-mcp")
    inside = sha256(t.extractfile(member).read())
check("npm linux-x64: version", ppkg["version"] == version, ppkg["version"])
check("npm linux-x64: os and cpu", ppkg["os"] == ["linux"] and ppkg["cpu"] == ["x64"] and "libc" not in ppkg, ppkg)
check("npm linux-x64: the launcher depends on it", ppkg["name"] in pkg["optionalDependencies"], ppkg["name"])
check("npm linux-x64: holds the binary, executable", inside == digest and member.mode & 0o111, oct(member.mode))

# PyPI: the wheel.
wheels = sorted((dist / "pypi").glob(f"docspace_mcp-{version}-py3-none-*.whl"))
check("wheel: one, for this version", len(wheels) == 1, sorted((dist / "pypi").iterdir()))
with zipfile.ZipFile(wheels[0]) as z:
    metadata = z.read(f"docspace_mcp-{version}.dist-info/METADATA").decode()
    wheel_file = z.read(f"docspace_mcp-{version}.dist-info/WHEEL").decode()
    script = z.getinfo(f"docspace_mcp-{version}.data/scripts/docspace-mcp")
    inside = sha256(z.read(script))
check("wheel: METADATA version", f"\nVersion: {version}\n" in metadata, metadata[:200])
check("wheel: names its MCP registry entry (mcp-name)", "mcp-name: io.github.docspace-mcp/docspace-mcp" in metadata)
check("wheel: platform tags, not pure", "Root-Is-Purelib: false" in wheel_file
      and "Tag: py3-none-manylinux_2_17_x86_64" in wheel_file and "Tag: py3-none-musllinux_1_1_x86_64" in wheel_file,
      wheel_file)
check("wheel: holds the binary as a script, executable", inside == digest and (script.external_attr >> 16) & 0o111,
      oct(script.external_attr >> 16))

# MCPB: the bundle.
bundle = dist / "mcpb" / f"docspace-mcp-{version}-linux-x64.mcpb"
with zipfile.ZipFile(bundle) as z:
    manifest = json.loads(z.read("manifest.json"))
    server = z.getinfo("server/docspace-mcp")
    inside = sha256(z.read(server))
check("mcpb: manifest version", manifest["version"] == version, manifest["version"])
check("mcpb: for linux only", manifest["compatibility"]["platforms"] == ["linux"], manifest["compatibility"])
check("mcpb: holds the binary, executable", inside == digest and (server.external_attr >> 16) & 0o111,
      oct(server.external_attr >> 16))

# server.json for the registry.
document = json.loads((dist / "server.json").read_text())
schema = json.loads((ROOT / "tests/fixtures/mcp-registry/server.schema-2025-12-11.json").read_text())
validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
problems = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(document)]
check("server.json: valid under the registry's schema", not problems, problems)
check("server.json: version", document["version"] == version, document["version"])
versions = {p["registryType"]: p.get("version", p["identifier"].rsplit(":", 1)[-1]) for p in document["packages"]}
check("server.json: every package at this version", set(versions.values()) == {version}, versions)
mcpb = [p for p in document["packages"] if p["registryType"] == "mcpb"]
check("server.json: the bundle with its SHA-256",
      len(mcpb) == 1 and mcpb[0]["fileSha256"] == sha256(bundle.read_bytes())
      and mcpb[0]["identifier"].endswith(f"/v{version}/{bundle.name}"), mcpb)
check("server.json: npm and PyPI identifiers are the built packages",
      {p["identifier"] for p in document["packages"] if p["registryType"] in ("npm", "pypi")} == {pkg["name"]}
      and pkg["mcpName"] == document["name"], document["packages"])

finish()
