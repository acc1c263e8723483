"""End-to-end check of docspace-mcp's HTTP transports with the official Python MCP SDK.

Usage: python http_client.py <server base URL> <portal base URL> <API key>
The server runs with no DocSpace credentials of its own: every session brings its portal and API key in
the X-Mcp-Base-Url and X-Mcp-Api-Key headers (per-request auth). Three sessions: Streamable HTTP with the
2025 initialize handshake ("legacy"), Streamable HTTP letting the SDK negotiate ("auto": 2026-07-28
server/discover, stateless), and the legacy HTTP+SSE transport. Each checks tools/list, a read, a write and
its visible effect, a bad-argument tool error and an unknown tool.
Prints one line per check and a closing "N passed, M failed"; exits non-zero on any failure.
"""

import asyncio
import json
import sys

from checks import check, finish, text
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

SERVER, PORTAL, KEY = sys.argv[1], sys.argv[2], sys.argv[3]
HEADERS = {"X-Mcp-Base-Url": PORTAL, "X-Mcp-Api-Key": KEY}


async def session(label, transport, mode):
    async with Client(transport, mode=mode, raise_exceptions=True) as client:
        print(f"     [{label}] negotiated protocol {client.protocol_version}", flush=True)
        info = client.server_info
        check(f"[{label}] the server introduces itself", info is not None and info.name == "docspace-mcp", info)
        names = {t.name for t in (await client.list_tools()).tools}
        check(f"[{label}] tools/list is the default catalogue", {"get_my_folder", "create_folder"} <= names
              and len(names) < 60, sorted(names))

        me = await client.call_tool("get_self_profile", {})
        check(f"[{label}] read tool", not me.is_error and json.loads(text(me))["response"]["displayName"] == "Alex Morgan",
              text(me))
        title = f"From Python over {label.replace('/', ' ')}"
        created = await client.call_tool("create_folder", {"parentId": 1, "title": title})
        check(f"[{label}] write tool", not created.is_error, text(created))
        listing = json.loads(text(await client.call_tool("get_folder_content", {"folderId": 1})))["response"]
        check(f"[{label}] the write is visible", any(f["title"] == title for f in listing["folders"]), listing["folders"])

        bad = await client.call_tool("get_folder_info", {"folderId": "not-a-number"})
        check(f"[{label}] bad arguments give a tool error", bad.is_error and "folderId" in text(bad), text(bad))
        try:
            unknown = await client.call_tool("no_such_tool", {})
            check(f"[{label}] unknown tool is refused", unknown.is_error, text(unknown))
        except Exception as e:  # a JSON-RPC error is the expected answer
            check(f"[{label}] unknown tool is refused", "no_such_tool" in str(e) or "-32602" in str(e), e)


async def main():
    streamable = f"{SERVER}/mcp"
    for label, mode in [("streamable-http/legacy", "legacy"), ("streamable-http/auto", "auto")]:
        try:
            http = create_mcp_http_client(headers=HEADERS)
            await session(label, streamable_http_client(streamable, http_client=http), mode)
        except Exception as e:
            check(f"[{label}] session completes", False, repr(e))
    try:
        await session("sse", sse_client(f"{SERVER}/sse", headers=HEADERS), "legacy")
    except Exception as e:
        check("[sse] session completes", False, repr(e))
    finish()


asyncio.run(main())
