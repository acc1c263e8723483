"""End-to-end check of docspace-mcp with the official Python MCP SDK (an independent client).

Usage: python stdio_client.py /path/to/docspace-mcp
Starts `docspace-mcp sandbox` over stdio, once with the 2025 initialize handshake ("legacy") and once
letting the SDK negotiate ("auto", which probes the 2026-07-28 server/discover first), and checks:
initialize, tools/list, a read, a write and its visible effect, a bad-argument tool error, an unknown tool.
Prints one line per check and a closing "N passed, M failed"; exits non-zero on any failure.
"""

import asyncio
import json
import sys

from checks import check, finish, text
from mcp import Client
from mcp.client.stdio import StdioServerParameters

BIN = sys.argv[1]


async def session(mode):
    params = StdioServerParameters(command=BIN, args=["sandbox"],
                                   env={"DOCSPACE_LOG_LEVEL": "warn"})
    async with Client(params, mode=mode, raise_exceptions=True) as client:
        info = client.server_info
        print(f"     [{mode}] negotiated protocol {client.protocol_version}", flush=True)
        check(f"[{mode}] initialize names the server", info is not None and info.name == "docspace-mcp", info)
        tools = (await client.list_tools()).tools
        names = {t.name for t in tools}
        check(f"[{mode}] tools/list is the default catalogue", {"get_my_folder", "create_folder", "get_all_people"} <= names
              and len(names) < 60, sorted(names))
        check(f"[{mode}] object input schemas", all(t.input_schema.get("type") == "object" for t in tools))

        me = await client.call_tool("get_self_profile", {})
        check(f"[{mode}] read tool", not me.is_error and json.loads(text(me))["response"]["displayName"] == "Alex Morgan", text(me))

        my = json.loads(text(await client.call_tool("get_my_folder", {})))["response"]
        folder_id = my["current"]["id"]
        created = await client.call_tool("create_folder", {"parentId": folder_id, "title": f"From Python {mode}"})
        check(f"[{mode}] write tool", not created.is_error, text(created))
        listing = json.loads(text(await client.call_tool("get_folder_content", {"folderId": folder_id})))["response"]
        check(f"[{mode}] the write is visible", any(f["title"] == f"From Python {mode}" for f in listing["folders"]), listing["folders"])

        bad = await client.call_tool("get_folder_info", {"folderId": "not-a-number"})
        check(f"[{mode}] bad arguments give a tool error", bad.is_error and "folderId" in text(bad), text(bad))
        check(f"[{mode}] errors carry no structured content", bad.structured_content is None)

        try:
            unknown = await client.call_tool("no_such_tool", {})
            check(f"[{mode}] unknown tool is refused", unknown.is_error, text(unknown))
        except Exception as e:  # a JSON-RPC error is the expected answer
            check(f"[{mode}] unknown tool is refused", "no_such_tool" in str(e) or "-32602" in str(e), e)

        still = await client.call_tool("get_self_profile", {})
        check(f"[{mode}] the server stays up", not still.is_error)


async def main():
    for mode in ("legacy", "auto"):
        try:
            await session(mode)
        except Exception as e:
            check(f"[{mode}] session", False, repr(e))
    finish()


asyncio.run(main())
