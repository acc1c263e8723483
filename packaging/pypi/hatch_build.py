"""Hatchling build hook: puts the prebuilt docspace-mcp binary into the wheel and tags the wheel for
the binary's platform. scripts/package sets the two variables; building without them is an error,
since a wheel without the binary would install a package that does nothing."""

import os

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version, build_data):
        binary = os.environ.get("DOCSPACE_MCP_BINARY")
        platform = os.environ.get("DOCSPACE_MCP_WHEEL_PLATFORM")
        if not binary or not platform:
            raise RuntimeError("set DOCSPACE_MCP_BINARY (the built binary) and DOCSPACE_MCP_WHEEL_PLATFORM "
                               "(a wheel platform tag); scripts/package does")
        if not os.path.isfile(binary):
            raise RuntimeError(f"DOCSPACE_MCP_BINARY={binary} is not a file")
        name = "docspace-mcp.exe" if platform.startswith("win") else "docspace-mcp"
        build_data["pure_python"] = False
        build_data["tag"] = f"py3-none-{platform}"
        build_data["shared_scripts"][binary] = name
