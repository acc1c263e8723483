"""Runs an installed docspace-mcp the way an MCP client would, with the official Python MCP SDK, and
checks it: scripts/test-packaging drives each install path through it (npx from the npm tarballs, the
wheel in a fresh venv and through uvx, the unpacked MCPB bundle as its host would launch it).

Usage: python packaged_client.py --name NAME --version VERSION [--cwd DIR] [--env K=V ...]
                                 [--manifest manifest.json] -- COMMAND [ARG ...]
The command must serve MCP over stdio against the sandbox portal (`… sandbox`, or `serve` pointed at
a running sandbox portal with its API key). Checks: initialize reports docspace-mcp at VERSION,
tools/list is the default catalogue (the bundle's manifest lists exactly it, with each tool's title,
when --manifest is given), a read tool returns the sandbox's user, a write is visible.
Prints one line per check and a closing "N passed, M failed"; exits non-zero on any failure.
"""

import argparse
import asyncio
import json

from checks import check, finish, text
from mcp import Client
from mcp.client.stdio import StdioServerParameters


async def session(args):
    env = dict(kv.split("=", 1) for kv in args.env)
    env.setdefault("DOCSPACE_LOG_LEVEL", "warn")
    params = StdioServerParameters(command=args.command[0], args=args.command[1:], env=env, cwd=args.cwd)
    async with Client(params, mode="legacy", raise_exceptions=True) as client:
        info = client.server_info
        check(f"[{args.name}] initialize names docspace-mcp", info is not None and info.name == "docspace-mcp", info)
        check(f"[{args.name}] serverInfo.version is {args.version}", info is not None and info.version == args.version,
              info and info.version)

        tools = (await client.list_tools()).tools
        names = [t.name for t in tools]
        check(f"[{args.name}] tools/list is the default catalogue",
              {"get_self_profile", "get_my_folder", "create_folder", "upload_file"} <= set(names) and len(names) < 60,
              names)
        if args.manifest:
            with open(args.manifest, encoding="utf-8") as f:
                listed = [(t["name"], t["description"]) for t in json.load(f)["tools"]]
            live = [(t.name, t.title) for t in tools]
            check(f"[{args.name}] the manifest's tools are the live tools/list (names and titles)",
                  sorted(listed) == sorted(live), {"only in manifest": sorted(set(listed) - set(live)),
                                                   "only live": sorted(set(live) - set(listed))})

        me = await client.call_tool("get_self_profile", {})
        check(f"[{args.name}] a read tool reaches the portal",
              not me.is_error and json.loads(text(me))["response"]["displayName"] == "Alex Morgan", text(me))
        my = json.loads(text(await client.call_tool("get_my_folder", {})))["response"]
        folder = my["current"]["id"]
        title = f"Installed via {args.name}"
        created = await client.call_tool("create_folder", {"parentId": folder, "title": title})
        listing = json.loads(text(await client.call_tool("get_folder_content", {"folderId": folder})))["response"]
        check(f"[{args.name}] a write is visible", not created.is_error and
              any(f["title"] == title for f in listing["folders"]), text(created))


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--cwd")
    parser.add_argument("--env", action="append", default=[])
    parser.add_argument("--manifest")
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()
    try:
        await session(args)
    except Exception as e:
        check(f"[{args.name}] session", False, repr(e))
    finish()


asyncio.run(main())
