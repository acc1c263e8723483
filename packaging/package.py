"""Wraps one built docspace-mcp binary into every package users install: the npm launcher and the
platform's npm package, a PyPI wheel, a Claude Desktop bundle (MCPB), and the MCP registry's
server.json (listing the bundles in the output folder, with their SHA-256).

Run it through scripts/package, which installs the tools this needs (hatchling and jsonschema in
.venv-pack, the MCPB CLI in packaging/node_modules). A release runs it once per target of the build
matrix (packaging/npm/docspace-mcp/platforms.json) into one output folder; docs/packaging.md.

    scripts/package --target x86_64-unknown-linux-musl --binary target/x86_64-unknown-linux-musl/dist/docspace-mcp

Refuses to package when the version strings of Cargo.toml and packaging/ disagree, when the binary
was not built from this version, or when a Linux binary is not static (the Linux npm packages and
wheels carry no libc requirement, so their binary must need no libc).
"""

import argparse
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
LAUNCHER = PACKAGING / "npm" / "docspace-mcp"
SCHEMA = ROOT / "tests" / "fixtures" / "mcp-registry" / "server.schema-2025-12-11.json"
MCPB = PACKAGING / "node_modules" / ".bin" / "mcpb"


class Failure(Exception):
    """A reason not to package, for the user."""


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def platforms():
    return {k: v for k, v in load_json(LAUNCHER / "platforms.json").items() if not k.startswith("$")}


def cargo_version():
    with open(ROOT / "Cargo.toml", "rb") as f:
        return tomllib.load(f)["package"]["version"]


def declared_versions():
    """Every version string kept in the repository's packaging files, by where it is."""
    found = {"Cargo.toml": cargo_version()}
    npm = load_json(LAUNCHER / "package.json")
    found["npm launcher package.json"] = npm["version"]
    for name, version in npm.get("optionalDependencies", {}).items():
        found[f"npm launcher optionalDependencies {name}"] = version
    with open(PACKAGING / "pypi" / "pyproject.toml", "rb") as f:
        found["pypi/pyproject.toml"] = tomllib.load(f)["project"]["version"]
    found["mcpb/manifest.json"] = load_json(PACKAGING / "mcpb" / "manifest.json")["version"]
    server = load_json(PACKAGING / "server.json")
    found["server.json version"] = server["version"]
    for p in server.get("packages", []):
        where = f"server.json {p['registryType']} package"
        if "version" in p:
            found[where] = p["version"]
        if p["registryType"] == "oci":
            found[f"{where} image tag"] = p["identifier"].rsplit(":", 1)[-1]
    return found


def check_versions():
    found = declared_versions()
    version = found["Cargo.toml"]
    wrong = {k: v for k, v in found.items() if v != version}
    if wrong:
        lines = "\n".join(f"  {k}: {v}" for k, v in wrong.items())
        raise Failure(f"version strings disagree with Cargo.toml's {version}:\n{lines}")
    return version


def elf_is_static(data):
    """True for an ELF executable with no program interpreter (PT_INTERP): it loads no libc."""
    if data[:4] != b"\x7fELF":
        raise Failure("the binary is not an ELF file")
    is64, little = data[4] == 2, data[5] == 1
    end = "<" if little else ">"
    if is64:
        phoff, = struct.unpack_from(end + "Q", data, 0x20)
        phentsize, phnum = struct.unpack_from(end + "HH", data, 0x36)
    else:
        phoff, = struct.unpack_from(end + "I", data, 0x1C)
        phentsize, phnum = struct.unpack_from(end + "HH", data, 0x2A)
    for i in range(phnum):
        p_type, = struct.unpack_from(end + "I", data, phoff + i * phentsize)
        if p_type == 3:  # PT_INTERP
            return False
    return True


def check_binary(binary, target, version):
    data = binary.read_bytes()
    # The default User-Agent (`docspace-mcp/<version>`) is compiled into every build: this works for
    # binaries of other platforms too, which cannot be run here.
    if f"docspace-mcp/{version}".encode() not in data:
        raise Failure(f"{binary} was not built from version {version} (no `docspace-mcp/{version}` in it)")
    if "-linux-" in target and not elf_is_static(data):
        raise Failure(f"{binary} is dynamically linked; Linux packages need the static build of {target} "
                      "(docs/packaging.md)")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def npm_pack(folder, out):
    res = run(["npm", "pack", "--json", "--pack-destination", str(out)], cwd=folder, capture_output=True, text=True)
    return out / json.loads(res.stdout)[0]["filename"]


def exe_name(entry):
    return "docspace-mcp.exe" if entry["os"] == "win32" else "docspace-mcp"


def suffix(entry):
    return f"{entry['os']}-{entry['cpu']}"


def build_npm(binary, entry, version, out, work):
    out.mkdir(parents=True, exist_ok=True)
    launcher = work / "npm-launcher"
    shutil.copytree(LAUNCHER, launcher)
    made = [npm_pack(launcher, out)]

    platform = work / "npm-platform"
    (platform / "bin").mkdir(parents=True)
    exe = platform / "bin" / exe_name(entry)
    shutil.copyfile(binary, exe)
    exe.chmod(0o755)
    npm = load_json(LAUNCHER / "package.json")
    manifest = {
        "name": entry["package"],
        "version": version,
        "description": f"The docspace-mcp binary for {suffix(entry)} (installed by the docspace-mcp package)",
        "license": npm["license"],
        "repository": npm["repository"],
        "os": [entry["os"]],
        "cpu": [entry["cpu"]],
        "files": [f"bin/{exe.name}"],
        "preferUnplugged": True,
    }
    (platform / "package.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (platform / "README.md").write_text(
        f"# {entry['package']}\n\nThe prebuilt docspace-mcp binary for {suffix(entry)}. Install "
        "[docspace-mcp](https://www.npmjs.com/package/docspace-mcp) instead: it picks the right one.\n",
        encoding="utf-8")
    made.append(npm_pack(platform, out))
    return made


def build_wheel(binary, entry, out, work):
    out.mkdir(parents=True, exist_ok=True)
    project = work / "pypi"
    shutil.copytree(PACKAGING / "pypi", project)
    env = dict(os.environ, DOCSPACE_MCP_BINARY=str(binary), DOCSPACE_MCP_WHEEL_PLATFORM=entry["wheel"])
    code = "import sys, hatchling.build as b; print(b.build_wheel(sys.argv[1]))"
    res = run([sys.executable, "-c", code, str(out)], cwd=project, env=env, capture_output=True, text=True)
    return out / res.stdout.strip().splitlines()[-1]


def build_mcpb(binary, entry, version, out, work):
    out.mkdir(parents=True, exist_ok=True)
    stage = work / "mcpb"
    (stage / "server").mkdir(parents=True)
    manifest = load_json(PACKAGING / "mcpb" / "manifest.json")
    # One bundle per platform (the binary is native): it says which one it runs on.
    manifest["compatibility"]["platforms"] = [entry["mcpb"]]
    manifest["server"]["entry_point"] = f"server/{exe_name(entry)}"
    exe = stage / "server" / exe_name(entry)
    shutil.copyfile(binary, exe)
    exe.chmod(0o755)
    (stage / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    run([str(MCPB), "validate", str(stage / "manifest.json")], capture_output=True, text=True)
    bundle = out / f"docspace-mcp-{version}-{suffix(entry)}.mcpb"
    bundle.unlink(missing_ok=True)
    run([str(MCPB), "pack", str(stage), str(bundle)], capture_output=True, text=True)
    return bundle


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def validate_server_json(document):
    import jsonschema

    schema = load_json(SCHEMA)
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    if errors:
        lines = "\n".join(f"  {'/'.join(map(str, e.path)) or '(top)'}: {e.message}" for e in errors)
        raise Failure(f"server.json does not validate against {SCHEMA.name}:\n{lines}")


def build_server_json(version, out):
    """The release's server.json: the committed one, with one MCPB entry per bundle in the output
    folder (the registry needs each bundle's download URL and SHA-256)."""
    server = load_json(PACKAGING / "server.json")
    repository = server["repository"]["url"]
    packages = [p for p in server["packages"] if p["registryType"] != "mcpb"]
    for bundle in sorted((out / "mcpb").glob(f"docspace-mcp-{version}-*.mcpb")):
        packages.append({
            "registryType": "mcpb",
            "identifier": f"{repository}/releases/download/v{version}/{bundle.name}",
            "version": version,
            "fileSha256": sha256(bundle),
            "transport": {"type": "stdio"},
        })
    server["packages"] = packages
    validate_server_json(server)
    path = out / "server.json"
    path.write_text(json.dumps(server, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def main():
    matrix = platforms()
    parser = argparse.ArgumentParser(prog="scripts/package", description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True, choices=sorted(matrix), help="the Rust target the binary was built for")
    parser.add_argument("--binary", required=True, type=Path, help="the built docspace-mcp binary")
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="output folder (default: dist/)")
    args = parser.parse_args()
    entry = matrix[args.target]
    try:
        if not args.binary.is_file():
            raise Failure(f"{args.binary} is not a file")
        version = check_versions()
        check_binary(args.binary, args.target, version)
        out = args.out.resolve()
        with tempfile.TemporaryDirectory(prefix="docspace-mcp-package-") as tmp:
            work = Path(tmp)
            made = build_npm(args.binary.resolve(), entry, version, out / "npm", work)
            made.append(build_wheel(args.binary.resolve(), entry, out / "pypi", work))
            made.append(build_mcpb(args.binary.resolve(), entry, version, out / "mcpb", work))
        made.append(build_server_json(version, out))
    except Failure as e:
        print(f"scripts/package: {e}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as e:
        print(f"scripts/package: {' '.join(map(str, e.cmd))} failed:\n{e.stdout or ''}{e.stderr or ''}", file=sys.stderr)
        return 1
    for path in made:
        print(f"{path.relative_to(out)}\t{path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
