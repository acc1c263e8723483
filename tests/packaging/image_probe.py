"""Talks to a running docspace-mcp container over plain HTTP, as a probe, an ingress and a bare MCP
client do: scripts/build-image runs it against the image started with deploy/kubernetes/configmap.yaml's
settings (OAuth on, no credentials of its own) in front of a sandbox portal.

Usage:
  python3 image_probe.py check URL PORTAL KEY VERSION ISSUER
      GET /health as the kubelet's probes send it (Host: localhost) and with a foreign Host; the MCP
      initialize handshake, a tool call and DELETE on POST /mcp with per-request credentials
      (X-Mcp-Base-Url, X-Mcp-Api-Key); without credentials, the OAuth challenge; the OAuth metadata's
      issuer. One line per check and a closing "N passed, M failed".
  python3 image_probe.py load URL PORTAL KEY SESSIONS CALLS THREADS
      Light load for the sizing figures of docs/deploy.md: THREADS threads open SESSIONS sessions in
      all and make CALLS tool calls (get_self_profile) in all over them. Prints what it did.
Standard library only; URL is the server's base, e.g. http://127.0.0.1:8080.
"""

import http.client
import json
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "clients"))
from checks import check, finish  # noqa: E402

ACCEPT = "application/json, text/event-stream"
PROTOCOL = "2025-06-18"


class Server:
    def __init__(self, url, portal=None, key=None):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.credentials = {"X-Mcp-Base-Url": portal, "X-Mcp-Api-Key": key} if portal else {}
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def request(self, method, path, body=None, headers=None, credentials=True):
        h = {"Host": f"{self.host}:{self.port}"}
        if credentials:
            h.update(self.credentials)
        h.update(headers or {})
        data = json.dumps(body).encode() if body is not None else None
        if data is not None:
            h["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=h)
        r = self.conn.getresponse()
        raw = r.read()
        if r.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, raw.decode("utf-8", "replace")

    def rpc(self, body, session=None, credentials=True):
        """A JSON-RPC POST on /mcp: (status, headers, the JSON-RPC answer or None)."""
        h = {"Accept": ACCEPT, "MCP-Protocol-Version": PROTOCOL}
        if session:
            h["Mcp-Session-Id"] = session
        status, headers, text = self.request("POST", "/mcp", body, h, credentials)
        answer = None
        if headers.get("content-type", "").startswith("text/event-stream"):
            for line in text.splitlines():
                if line.startswith("data:") and line[5:].strip().startswith("{"):
                    answer = json.loads(line[5:])
        elif text.startswith("{"):
            answer = json.loads(text)
        return status, headers, answer

    def open_session(self, name="image-probe"):
        status, headers, answer = self.rpc({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": name, "version": "0"}}})
        session = headers.get("mcp-session-id")
        if session:
            self.rpc({"jsonrpc": "2.0", "method": "notifications/initialized"}, session)
        return status, session, answer

    def call(self, session, tool, arguments, id_=2):
        return self.rpc({"jsonrpc": "2.0", "id": id_, "method": "tools/call",
                         "params": {"name": tool, "arguments": arguments}}, session)


def display_name(answer):
    try:
        return json.loads(answer["result"]["content"][0]["text"])["response"]["displayName"]
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def checks(url, portal, key, version, issuer):
    s = Server(url, portal, key)
    status, _, text = s.request("GET", "/health", headers={"Host": "localhost"}, credentials=False)
    health = json.loads(text) if text.startswith("{") else {}
    check("[http] GET /health as the probes send it (Host: localhost): 200, status ok, this version",
          status == 200 and health.get("status") == "ok" and health.get("version") == version, (status, text))
    status, _, text = s.request("GET", "/health", headers={"Host": "rebind.example"}, credentials=False)
    check("[http] a Host outside DOCSPACE_SERVER_ALLOWED_HOSTNAMES gets 403", status == 403, (status, text[:200]))

    status, session, answer = s.open_session()
    info = (answer or {}).get("result", {}).get("serverInfo", {})
    check("[http] POST /mcp initialize (X-Mcp-* credentials): 200, Mcp-Session-Id, serverInfo",
          status == 200 and session and info.get("name") == "docspace-mcp" and info.get("version") == version,
          (status, session, answer))
    status, _, answer = s.call(session, "get_self_profile", {})
    check("[http] tools/call get_self_profile reaches the portal through the container",
          status == 200 and display_name(answer) == "Alex Morgan", (status, answer))
    status, _, _ = s.request("DELETE", "/mcp", headers={"Mcp-Session-Id": session})
    after, _, _ = s.call(session, "get_self_profile", {}, 3)
    check("[http] DELETE /mcp ends the session (then 404)", status in (200, 202, 204) and after == 404,
          (status, after))

    status, headers, _ = s.rpc({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "x", "version": "0"}}},
        credentials=False)
    check("[http] without credentials: 401 with the OAuth challenge (resource_metadata)",
          status == 401 and "resource_metadata=" in headers.get("www-authenticate", ""),
          (status, headers.get("www-authenticate")))
    status, _, text = s.request("GET", "/.well-known/oauth-authorization-server", credentials=False)
    meta = json.loads(text) if text.startswith("{") else {}
    check(f"[http] the OAuth metadata names the configured issuer ({issuer})",
          status == 200 and meta.get("issuer") == issuer, (status, text[:200]))
    finish()


def load(url, portal, key, sessions, calls, threads):
    errors, done = [], [0]
    lock = threading.Lock()

    def worker(n, n_sessions, n_calls):
        s = Server(url, portal, key)
        # Each thread stands for its own client (behind the trusted proxy DOCSPACE_PROXY_HOPS=1 names),
        # so that the per-client rate limit (1,000 requests a second) does not pool them.
        s.credentials["X-Forwarded-For"] = f"198.51.100.{n + 1}"
        opened = []
        for i in range(n_sessions):
            status, session, _ = s.open_session(f"load-{i}")
            if status != 200 or not session:
                errors.append(f"initialize: {status}")
                return
            opened.append(session)
        for i in range(n_calls):
            status, _, answer = s.call(opened[i % len(opened)], "get_self_profile", {}, i + 2)
            if status != 200 or display_name(answer) != "Alex Morgan":
                errors.append(f"tools/call: {status} {str(answer)[:200]}")
            with lock:
                done[0] += 1

    start = time.monotonic()
    pool = [threading.Thread(target=worker, args=(n, sessions // threads, calls // threads)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.monotonic() - start
    print(f"load: {sessions // threads * threads} sessions, {done[0]} tool calls in {elapsed:.1f} s "
          f"({done[0] / elapsed:.0f}/s, {threads} threads), {len(errors)} errors", flush=True)
    for e in sorted(set(errors))[:5]:
        print(f"     error: {e} ({errors.count(e)}x)", flush=True)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    mode, url, portal, key = sys.argv[1:5]
    if mode == "check":
        checks(url, portal, key, sys.argv[5], sys.argv[6])
    else:
        load(url, portal, key, *map(int, sys.argv[5:8]))
