"""Checks the container image scripts/build-image wrote, from the OCI archive itself (the file a
release pushes), without running it: its configuration (entrypoint, numeric non-root user, the
environment that makes it serve HTTP on every address and nothing else, the port, the labels the MCP
registry and OCI tools read) and its file system (the given binary, static, and Debian's CA bundle;
no shell, no other file).

Usage: python3 image_check.py ARCHIVE BINARY CERTIFICATES
  ARCHIVE       the oci-archive written by scripts/build-image
  BINARY        the binary it was built from
  CERTIFICATES  how many certificates the CA bundle must hold
Standard library only. Prints one line per check and a closing "N passed, M failed".
"""

import hashlib
import json
import stat
import struct
import sys
import tarfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tests" / "clients"))
from checks import check, finish  # noqa: E402

archive, binary, certificates = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
with open(ROOT / "Cargo.toml", "rb") as f:
    version = tomllib.load(f)["package"]["version"]
server = json.loads((ROOT / "packaging" / "server.json").read_text())
oci = [p for p in server["packages"] if p["registryType"] == "oci"]
reference = oci[0]["identifier"] if oci else f"ghcr.io/docspace-mcp/docspace-mcp:{version}"


def is_static_elf(data):
    """True for a 64-bit little-endian ELF with no PT_INTERP program header (no loader needed)."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return False
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    types = [struct.unpack_from("<I", data, phoff + i * phentsize)[0] for i in range(phnum)]
    return 3 not in types  # PT_INTERP


with tarfile.open(archive) as outer:
    def blob(digest):
        return outer.extractfile("blobs/" + digest.replace(":", "/")).read()

    index = json.loads(outer.extractfile("index.json").read())
    manifests = index["manifests"]
    check("[image] the archive holds one image", len(manifests) == 1, manifests)
    ref_name = manifests[0].get("annotations", {}).get("org.opencontainers.image.ref.name")
    check(f"[image] it is tagged {reference.rsplit(':', 1)[1]}, the tag of server.json's OCI package",
          ref_name == reference.rsplit(":", 1)[1], ref_name)
    manifest = json.loads(blob(manifests[0]["digest"]))
    image = json.loads(blob(manifest["config"]["digest"]))
    config = image.get("config", {})
    check("[image] linux/amd64", (image.get("os"), image.get("architecture")) == ("linux", "amd64"),
          (image.get("os"), image.get("architecture")))

    # Run as: the binary, as a numeric non-root user.
    check("[image] the entrypoint is the binary, with no default arguments",
          config.get("Entrypoint") == ["/docspace-mcp"] and not config.get("Cmd"),
          (config.get("Entrypoint"), config.get("Cmd")))
    user = config.get("User", "")
    uid, _, gid = user.partition(":")
    check("[image] the user is numeric and not root (uid:gid, both non-zero)",
          uid.isdigit() and gid.isdigit() and int(uid) > 0 and int(gid) > 0, repr(user))
    env = dict(e.split("=", 1) for e in config.get("Env", []))
    docspace = {k: v for k, v in env.items() if k.startswith("DOCSPACE_")}
    check("[image] the environment serves HTTP on 0.0.0.0:8080 and holds no other setting (no credential)",
          docspace == {"DOCSPACE_TRANSPORT": "http", "DOCSPACE_HOST": "0.0.0.0", "DOCSPACE_PORT": "8080"}, docspace)
    check("[image] it exposes 8080/tcp", set(config.get("ExposedPorts", {})) == {"8080/tcp"}, config.get("ExposedPorts"))

    labels = config.get("Labels", {})
    check(f"[image] label org.opencontainers.image.version is {version}",
          labels.get("org.opencontainers.image.version") == version, labels.get("org.opencontainers.image.version"))
    check(f"[image] label io.modelcontextprotocol.server.name is server.json's name ({server['name']})",
          labels.get("io.modelcontextprotocol.server.name") == server["name"],
          labels.get("io.modelcontextprotocol.server.name"))
    check("[image] label org.opencontainers.image.source is server.json's repository",
          labels.get("org.opencontainers.image.source") == server["repository"]["url"],
          labels.get("org.opencontainers.image.source"))
    revision = labels.get("org.opencontainers.image.revision", "")
    check("[image] label org.opencontainers.image.revision is a commit", len(revision.removesuffix("-dirty")) == 40,
          repr(revision))
    check("[image] labels: licence MIT, title, CA bundle's Debian version",
          labels.get("org.opencontainers.image.licenses") == "MIT"
          and labels.get("org.opencontainers.image.title") == "docspace-mcp"
          and labels.get("io.github.docspace-mcp.ca-certificates", "").startswith("debian ca-certificates 2"), labels)

    # The file system: every layer, in order (a later layer may only add here: there is one).
    files = {}
    for layer in manifest["layers"]:
        with tarfile.open(fileobj=outer.extractfile("blobs/" + layer["digest"].replace(":", "/")), mode="r|*") as t:
            for m in t:
                name = m.name.removeprefix("./").rstrip("/")
                if name:
                    files[name] = (m, t.extractfile(m).read() if m.isfile() else None)
    regular = sorted(n for n, (m, _) in files.items() if not m.isdir())
    check("[image] the root file system holds the binary and the CA bundle, nothing else",
          regular == ["docspace-mcp", "etc/ssl/certs/ca-certificates.crt"], regular)
    check("[image] no shell: no /bin/sh, /bin or /usr/bin",
          not {"bin/sh", "bin", "usr/bin", "usr/bin/sh"} & set(files), sorted(files))
    check("[image] no setuid or setgid file",
          not any(m.mode & (stat.S_ISUID | stat.S_ISGID) for m, _ in files.values()), "")

    member, data = files.get("docspace-mcp", (None, b""))
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()
    check("[image] /docspace-mcp is the given binary", data and hashlib.sha256(data).hexdigest() == digest, "")
    check("[image] /docspace-mcp: root-owned, mode 0555 (the user cannot change it)",
          member is not None and member.uid == 0 and stat.S_IMODE(member.mode) == 0o555,
          member and (member.uid, oct(member.mode)))
    check("[image] /docspace-mcp is a static ELF (no program interpreter)", data and is_static_elf(data), "")

    member, data = files.get("etc/ssl/certs/ca-certificates.crt", (None, b""))
    count = (data or b"").count(b"-----BEGIN CERTIFICATE-----")
    check(f"[image] the CA bundle holds Debian's {certificates} Mozilla certificates", count == certificates,
          f"{count} found")
    check("[image] the CA bundle: root-owned, mode 0444", member is not None and member.uid == 0
          and stat.S_IMODE(member.mode) == 0o444, member and (member.uid, oct(member.mode)))

finish()
