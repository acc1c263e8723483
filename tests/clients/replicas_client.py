"""One MCP session, in phases, with the official Python MCP SDK: the replicas test's client.

Usage: python replicas_client.py <endpoint URL: …/mcp or …/sse> <portal base URL> <API key> <calls per phase>…
The session brings its portal and API key in the X-Mcp-Base-Url and X-Mcp-Api-Key headers (per-request
credentials), over Streamable HTTP (the 2025 initialize handshake, a session id) when the URL ends in /mcp, or the
legacy HTTP+SSE transport when it ends in /sse. Each phase makes its number of tool calls (get_self_profile; every
fourth a create_folder then a get_folder_content that must show the new folder) and a tools/list. Between two
phases it prints "PAUSE <n> session=<id> protocol=<version>" and waits for a line on stdin, so that the test can
kill a server or the store while the session stays open; "go" continues, anything else ends the session.

Every HTTP answer the SDK gets is recorded: a check per phase says that none was an error (4xx/5xx), and the
session's id (Mcp-Session-Id, or the sessionId of the SSE endpoint) is printed. Prints one line per check and a
closing "N passed, M failed"; exits non-zero on any failure.
"""

import json
import sys

import anyio
import httpx2
from checks import check, finish, text
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import MCP_DEFAULT_SSE_READ_TIMEOUT, MCP_DEFAULT_TIMEOUT

URL, PORTAL, KEY = sys.argv[1], sys.argv[2], sys.argv[3]
PHASES = [int(n) for n in sys.argv[4:]] or [10]
HEADERS = {"X-Mcp-Base-Url": PORTAL, "X-Mcp-Api-Key": KEY}
SSE = URL.rstrip("/").endswith("/sse")


class Traffic:
    """The answers the SDK got: (method, path, status), and the session id."""

    def __init__(self):
        self.answers = []
        self.session = None

    async def on_response(self, response):
        req = response.request
        self.answers.append((req.method, req.url.path, response.status_code))
        sid = response.headers.get("mcp-session-id") or req.url.params.get("sessionId")
        if sid and self.session is None:
            self.session = sid

    def client(self, headers=None, timeout=None, auth=None):
        """An McpHttpClientFactory (for sse_client), and the client given to streamable_http_client."""
        return httpx2.AsyncClient(headers=headers, auth=auth,
                                  timeout=timeout or httpx2.Timeout(MCP_DEFAULT_TIMEOUT, read=MCP_DEFAULT_SSE_READ_TIMEOUT),
                                  event_hooks={"response": [self.on_response]})


async def phase(n, calls, client, traffic):
    before = len(traffic.answers)
    names = {t.name for t in (await client.list_tools()).tools}
    check(f"[phase {n}] tools/list", {"get_self_profile", "create_folder"} <= names, sorted(names))
    good = 0
    for i in range(calls):
        if i % 4 == 3:
            title = f"replicas phase {n} call {i}"
            created = await client.call_tool("create_folder", {"parentId": 1, "title": title})
            listing = await client.call_tool("get_folder_content", {"folderId": 1})
            folders = [] if listing.is_error else json.loads(text(listing))["response"]["folders"]
            ok = not created.is_error and any(f["title"] == title for f in folders)
            if not ok:
                print(f"     [phase {n}] call {i}: {text(created)[:300]} / {text(listing)[:300]}", flush=True)
        else:
            me = await client.call_tool("get_self_profile", {})
            ok = not me.is_error and json.loads(text(me))["response"]["displayName"] == "Alex Morgan"
            if not ok:
                print(f"     [phase {n}] call {i}: {text(me)[:300]}", flush=True)
        good += ok
    check(f"[phase {n}] {calls} tool calls answered", good == calls, f"{good} of {calls}")
    errors = [a for a in traffic.answers[before:] if a[2] >= 400]
    check(f"[phase {n}] no HTTP error answer", not errors, errors)
    print(f"     [phase {n}] {len(traffic.answers) - before} HTTP answers", flush=True)


async def wait_for_go(n, client, traffic):
    print(f"PAUSE {n} session={traffic.session} protocol={client.protocol_version}", flush=True)
    line = await anyio.to_thread.run_sync(sys.stdin.readline)
    return line.strip() == "go"


async def main():
    traffic = Traffic()
    label = "sse" if SSE else "streamable-http"
    try:
        if SSE:
            transport = sse_client(URL, headers=HEADERS, httpx_client_factory=traffic.client)
        else:
            transport = streamable_http_client(URL, http_client=traffic.client(headers=HEADERS))
        async with Client(transport, mode="legacy", raise_exceptions=True) as client:
            info = client.server_info
            check(f"[{label}] initialize", info is not None and info.name == "docspace-mcp", info)
            print(f"     [{label}] session {traffic.session}, protocol {client.protocol_version}", flush=True)
            for n, calls in enumerate(PHASES, start=1):
                if n > 1 and not await wait_for_go(n - 1, client, traffic):
                    break
                await phase(n, calls, client, traffic)
    except Exception as e:
        check(f"[{label}] session completes", False, repr(e))
    print(f"     [{label}] answers: {json.dumps(traffic.answers[-5:])} (the last five)", flush=True)
    finish()


anyio.run(main)
