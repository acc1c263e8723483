"""Resources, prompts, completions and confirmations with the official Python MCP SDK (an independent client).

Usage: python surface_client.py /path/to/docspace-mcp
Starts `docspace-mcp sandbox` over stdio twice: once with the 2025 initialize handshake ("legacy"), where a
data-losing call is confirmed through elicitation/create, and once letting the SDK negotiate 2026-07-28 ("auto"),
where the same call answers with an input-required result that the SDK drives through the same callback. In each:
resources/list and templates, a listing and a paged file read, prompts/list and prompts/get, completions from the
portal, a resource_link in a tool result, and a declined then an accepted confirmation.
Prints one line per check and a closing "N passed, M failed"; exits non-zero on any failure.
"""

import asyncio
import json
import sys

from checks import check, finish, text
from mcp import Client, types
from mcp.client.stdio import StdioServerParameters

BIN = sys.argv[1]


async def session(mode):
    asked = []
    answer = {"yes": False}

    async def elicit(context, params):
        asked.append(params.message)
        if answer["yes"]:
            return types.ElicitResult(action="accept", content={"confirm": True})
        return types.ElicitResult(action="decline")

    params = StdioServerParameters(command=BIN, args=["sandbox"], env={"DOCSPACE_LOG_LEVEL": "warn"})
    async with Client(params, mode=mode, raise_exceptions=True, elicitation_callback=elicit) as client:
        print(f"     [{mode}] negotiated protocol {client.protocol_version}", flush=True)
        resources = [r.uri for r in (await client.list_resources()).resources]
        check(f"[{mode}] resources/list", [str(u) for u in resources] == ["docspace://rooms", "docspace://folders/my"], resources)
        templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
        check(f"[{mode}] resources/templates/list", "docspace://files/{fileId}{?offset,limit}" in templates, templates)

        my = json.loads((await client.read_resource("docspace://folders/my")).contents[0].text)
        welcome = next(f for f in my["files"] if f["title"] == "Welcome.txt")
        page = (await client.read_resource(welcome["uri"] + "?limit=10")).contents[0]
        check(f"[{mode}] a paged file read", page.text.startswith("Welcome to") and "offset=10" in page.text, page.text)

        prompts = [p.name for p in (await client.list_prompts()).prompts]
        check(f"[{mode}] prompts/list", "audit_room_access" in prompts and len(prompts) == 5, prompts)
        prompt = await client.get_prompt("summarize_folder", {"folder": "Projects", "focus": "deadlines"})
        said = prompt.messages[0].content.text
        check(f"[{mode}] prompts/get fills in the arguments", "Projects" in said and "deadlines" in said, said)
        done = await client.complete(types.PromptReference(type="ref/prompt", name="audit_room_access"),
                                     {"name": "room", "value": "Mark"})
        check(f"[{mode}] completion from the portal's rooms", done.completion.values == ["Marketing"], done.completion)

        listing = await client.call_tool("get_my_folder", {})
        links = [c.uri for c in listing.content if getattr(c, "type", "") == "resource_link"]
        check(f"[{mode}] resource links in a listing", any(str(u).startswith("docspace://files/") for u in links), links)

        rooms = lambda: client.call_tool("get_rooms_folder", {})
        no = await client.call_tool("archive_room", {"roomId": 107})
        check(f"[{mode}] the user is asked before archiving", len(asked) == 1 and "Archive room 107" in asked[0], asked)
        check(f"[{mode}] a no changes nothing", not no.is_error and text(no).startswith("Nothing was changed")
              and "Contracts" in text(await rooms()), text(no))
        answer["yes"] = True
        yes = await client.call_tool("archive_room", {"roomId": 107})
        check(f"[{mode}] a yes archives", not yes.is_error and len(asked) == 2 and "Contracts" not in text(await rooms()),
              text(yes))


async def main():
    for mode in ("legacy", "auto"):
        await session(mode)
    finish()


asyncio.run(main())
