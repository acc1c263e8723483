"""End-to-end check of docspace-mcp's OAuth proxy with the official Python MCP SDK's own OAuth client.

Usage: python oauth_client.py --url <server>/mcp|<server>/sse --transport streamable-http|sse
                              --mode shared|own [--client-id ID --client-secret SECRET
                              --auth-method client_secret_post|client_secret_basic]
                              --username U --password P [--protocol legacy|auto]
The SDK's OAuthClientProvider does what a real MCP client does: it meets the 401, discovers the protected
resource and authorization server metadata, registers dynamically ("shared" mode) or uses the DocSpace app
the user gave it ("own" mode: the id and secret are put in its token storage in advance, so it skips
registration), and runs the authorization-code flow with PKCE. The browser part is headless: the redirect
handler walks the proxy's consent page and the portal's sign-in page with httpx2 (forms parsed with
html.parser, the CSRF cookie carried) and stops at the redirect to the client's loopback redirect URI without
connecting to it. Then: initialize, tools/list, get_self_profile; the token response carries a refresh token
and no scope; after the access token is marked expired the SDK refreshes it and a second session works
without a second consent.
Prints one line per check and a closing "N passed, M failed"; exits non-zero on any failure. Tokens are
printed only as a short prefix.
"""

import argparse
import asyncio
import json
import socket
import time
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlparse

import anyio
import httpx2
from checks import check, finish, text
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import MCP_DEFAULT_SSE_READ_TIMEOUT, MCP_DEFAULT_TIMEOUT
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata

CSRF_COOKIE = "docspace_mcp_csrf"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True, help="<server>/mcp or <server>/sse")
    p.add_argument("--transport", required=True, choices=["streamable-http", "sse"])
    p.add_argument("--mode", required=True, choices=["shared", "own"])
    p.add_argument("--client-id", help="own mode: the DocSpace app's client id")
    p.add_argument("--client-secret", help="own mode: the DocSpace app's client secret")
    p.add_argument("--auth-method", default="client_secret_post", choices=["client_secret_post", "client_secret_basic"],
                   help="own mode: how the SDK authenticates at /token")
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--protocol", default="legacy", choices=["legacy", "auto"],
                   help="Client(mode=...): 'legacy' is the initialize handshake, 'auto' probes server/discover first")
    p.add_argument("--client-name", default="oauth_client.py & the Python MCP SDK",
                   help="shared mode: the name registered (and expected on the consent page)")
    a = p.parse_args()
    if a.mode == "own" and not (a.client_id and a.client_secret):
        p.error("--mode own needs --client-id and --client-secret")
    return a


def short(secret):
    """A token for a log line: a prefix and the length, never the whole value."""
    return "-" if not secret else f"{secret[:10]}…({len(secret)} chars)"


def origin(url):
    u = urlparse(str(url))
    return f"{u.scheme}://{u.netloc}"


def free_port():
    """A loopback port nobody listens on: the redirect URI is never connected to, only read."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Page(HTMLParser):
    """The forms of an HTML page (action, method, inputs, buttons as attribute dicts) and its text."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.forms, self.chunks, self._form = [], [], None
        self.feed(html)
        self.close()
        self.text = " ".join(" ".join(self.chunks).split())

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = {"method": a.get("method", "get").lower(), "action": a.get("action", ""),
                          "inputs": [], "buttons": []}
            self.forms.append(self._form)
        elif tag in ("input", "button") and self._form is not None:
            self._form[tag + "s"].append(a)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None

    def handle_data(self, data):
        self.chunks.append(data)


def hidden_fields(form):
    return {i["name"]: i.get("value", "") for i in form["inputs"]
            if i.get("type", "text").lower() == "hidden" and i.get("name")}


def has_button(form, value):
    return any(b.get("name") == "decision" and b.get("value") == value and b.get("id") == value for b in form["buttons"])


class Storage:
    """TokenStorage in memory (the SDK's protocol: get/set tokens, get/set client info)."""

    def __init__(self, client_info=None):
        self.tokens, self.client_info = None, client_info

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client_info

    async def set_client_info(self, client_info):
        self.client_info = client_info


class Traffic:
    """What the SDK's HTTP client sent (event hooks see the auth flow's own requests too)."""

    def __init__(self):
        self.log = []          # "METHOD /path -> status"
        self.token_calls = []  # (grant_type, form field names, Authorization scheme, status, JSON body)
        self.registrations = []
        self.bearers = []      # the access token each MCP request carried (kept in memory, never printed)

    async def on_response(self, response):
        req = response.request
        self.log.append(f"{req.method} {req.url.path} -> {response.status_code}")
        auth = req.headers.get("authorization", "")
        if auth.startswith("Bearer ") and not req.url.path.startswith("/.well-known/"):
            self.bearers.append(auth[len("Bearer "):])
        if req.method == "POST" and req.url.path.endswith("/token"):
            await response.aread()
            form = parse_qs(req.content.decode())
            scheme = req.headers.get("authorization", "").split(" ")[0] or None
            body = response.json() if "json" in response.headers.get("content-type", "") else {}
            self.token_calls.append({"grant_type": form.get("grant_type", ["?"])[0], "fields": sorted(form),
                                     "resource": form.get("resource", [None])[0], "auth": scheme,
                                     "status": response.status_code, "body": body})
        elif req.method == "POST" and req.url.path.endswith("/register"):
            await response.aread()
            self.registrations.append((json.loads(req.content or b"{}"), response.status_code,
                                       response.json() if response.status_code < 300 else response.text))

    def http_client(self, headers=None, timeout=None, auth=None):
        """An McpHttpClientFactory (for sse_client) and the client given to streamable_http_client."""
        return httpx2.AsyncClient(headers=headers, auth=auth,
                                  timeout=timeout or httpx2.Timeout(MCP_DEFAULT_TIMEOUT, read=MCP_DEFAULT_SSE_READ_TIMEOUT),
                                  event_hooks={"response": [self.on_response]})


class Browser:
    """The redirect and callback handlers: a headless walk of the consent and sign-in pages."""

    def __init__(self, args, redirect_uri, server_origin):
        self.args, self.redirect_uri, self.server = args, redirect_uri, server_origin
        self.runs = 0
        self.result = None
        self.authorize_params = {}

    async def redirect_handler(self, authorization_url):
        self.runs += 1
        self.authorize_params = {k: v[0] for k, v in parse_qs(urlparse(authorization_url).query).items()}
        shown = {k: self.authorize_params.get(k) for k in ("redirect_uri", "resource", "scope", "prompt")}
        shown["client_id"] = short(self.authorize_params.get("client_id"))
        print(f"     authorize request: {urlparse(authorization_url)._replace(query='').geturl()} {json.dumps(shown, ensure_ascii=False)}",
              flush=True)
        self.result = await self.walk(authorization_url)

    async def callback_handler(self):
        return self.result

    async def walk(self, url):
        a = self.args
        async with httpx2.AsyncClient(follow_redirects=False, timeout=30) as b:
            # The proxy's consent page.
            r = await b.get(url)
            html = r.text
            check("consent page: 200 HTML", r.status_code == 200 and "text/html" in r.headers.get("content-type", ""),
                  f"{r.status_code} {r.headers.get('content-type')} {html[:300]}")
            page = Page(html)
            forms = [f for f in page.forms if f["method"] == "post" and f["action"] == "/authorize"]
            check("consent page: one POST /authorize form", len(page.forms) == 1 and len(forms) == 1, page.forms)
            if not forms:
                raise RuntimeError("no consent form")
            form = forms[0]
            hidden = hidden_fields(form)
            check("consent page: hidden request and csrf", {"request", "csrf"} <= set(hidden), sorted(hidden))
            check("consent page: allow and deny buttons", has_button(form, "allow") and has_button(form, "deny"),
                  form["buttons"])
            check("consent page: shows the redirect URI", self.redirect_uri in page.text, page.text[:500])
            if a.mode == "shared":
                raw_ok = not any(c in a.client_name for c in '<>&"') or a.client_name not in html
                check("consent page: shows the registered client name, HTML-escaped",
                      a.client_name in page.text and raw_ok, page.text[:500])
            else:
                check("consent page: names the client (its id, in own mode)", a.client_id in page.text, page.text[:500])
            set_cookies = r.headers.get_list("set-cookie")
            # One CSRF cookie per consent page, named after its token (two pages open at once keep their own).
            csrf = [c for c in set_cookies if c.split("=", 1)[0].strip().startswith(CSRF_COOKIE + "_")]
            check(f"consent page: sets its own {CSRF_COOKIE}_<token> cookie", len(csrf) == 1, set_cookies)
            if csrf:
                print(f"     cookie attributes: {'; '.join(p.strip() for p in csrf[0].split(';')[1:])}", flush=True)
            cookie = "; ".join(f"{k}={v}" for k, v in r.cookies.items())

            # Allow: 303 to the portal's authorization endpoint.
            r = await b.post(urljoin(url, form["action"]), data={**hidden, "decision": "allow"},
                             headers={"Cookie": cookie})
            upstream = urljoin(url, r.headers.get("location", ""))
            check("consent allow: 303 to the portal's /oauth2/authorize",
                  r.status_code == 303 and urlparse(upstream).path.endswith("/oauth2/authorize")
                  and origin(upstream) != self.server, f"{r.status_code} {r.headers.get('location')} {r.text[:300]}")
            if r.status_code != 303:
                raise RuntimeError(f"the consent was not accepted: {r.status_code}")
            up = {k: v[0] for k, v in parse_qs(urlparse(upstream).query).items()}
            print(f"     upstream request: {origin(upstream)}/oauth2/authorize client_id={up.get('client_id')} "
                  f"redirect_uri={up.get('redirect_uri')} scope={up.get('scope')!r} "
                  f"S256={up.get('code_challenge_method') == 'S256'}", flush=True)

            # The portal's sign-in page.
            r = await b.get(upstream)
            login = Page(r.text)
            lforms = [f for f in login.forms if f["method"] == "post" and f["action"] == "/oauth2/authorize"]
            names = {i.get("name") for f in lforms for i in f["inputs"]}
            check("portal sign-in page: form with username and password",
                  r.status_code == 200 and len(lforms) == 1 and {"username", "password"} <= names,
                  f"{r.status_code} {r.text[:300]}")
            if not lforms:
                raise RuntimeError("no sign-in form")
            r = await b.post(urljoin(upstream, lforms[0]["action"]),
                             data={**hidden_fields(lforms[0]), "username": a.username, "password": a.password,
                                   "decision": "allow"})
            callback = urljoin(upstream, r.headers.get("location", ""))
            cq = parse_qs(urlparse(callback).query)
            check("portal sign-in: redirect to the server's /oauth/callback with a code",
                  r.is_redirect and callback.startswith(self.server + "/oauth/callback") and "code" in cq
                  and "state" in cq, f"{r.status_code} {r.headers.get('location')} {r.text[:300]}")
            if not r.is_redirect:
                raise RuntimeError(f"the sign-in was not accepted: {r.status_code}")

            # The proxy's callback: a redirect to the client's own redirect URI (never connected to).
            r = await b.get(callback)
            final = r.headers.get("location", "")
            fq = {k: v[0] for k, v in parse_qs(urlparse(final).query).items()}
            check("callback: 302 to the client's redirect URI with code and state",
                  r.status_code == 302 and final.split("?")[0] == self.redirect_uri and "code" in fq and "state" in fq,
                  f"{r.status_code} {final} {r.text[:300]}")
            check("callback: state is the client's own", fq.get("state") == self.authorize_params.get("state"),
                  f"{fq.get('state')} != {self.authorize_params.get('state')}")
            check("callback: iss is the server's origin", fq.get("iss") == self.server, f"{fq.get('iss')} != {self.server}")
            if "code" not in fq:
                raise RuntimeError(f"no code on the final redirect: {final}")
            return AuthorizationCodeResult(code=fq["code"], state=fq.get("state"), iss=fq.get("iss"))


async def preflight(args, server):
    """The 401 and the discovery documents, before the SDK sees them."""
    async with httpx2.AsyncClient(timeout=30) as h:
        if args.transport == "sse":
            request = h.build_request("GET", args.url, headers={"Accept": "text/event-stream"})
        else:
            request = h.build_request("POST", args.url, headers={"Accept": "application/json, text/event-stream"},
                                      json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        r = await h.send(request, stream=True)  # the body is not read: a wrong 200 would be an endless stream
        await r.aclose()
        www = r.headers.get("www-authenticate", "")
        prm_url = f"{server}/.well-known/oauth-protected-resource{urlparse(args.url).path}"
        check("no token: 401 with resource_metadata and scope",
              r.status_code == 401 and www.startswith("Bearer ") and f'resource_metadata="{prm_url}"' in www
              and "scope=" in www, f"{r.status_code} {www!r}")
        print(f"     WWW-Authenticate: {www}", flush=True)
        prm = (await h.get(prm_url)).json()
        check("protected resource metadata names the endpoint and the server",
              prm.get("resource") == args.url and prm.get("authorization_servers") == [server], prm)
        asm = (await h.get(f"{server}/.well-known/oauth-authorization-server")).json()
        oidc = await h.get(f"{server}/.well-known/openid-configuration")
        check("authorization server metadata", asm.get("issuer") == server
              and asm.get("authorization_endpoint") == f"{server}/authorize"
              and asm.get("token_endpoint") == f"{server}/token"
              and asm.get("code_challenge_methods_supported") == ["S256"]
              and {"none", "client_secret_basic", "client_secret_post"} <= set(asm.get("token_endpoint_auth_methods_supported") or [])
              and (asm.get("registration_endpoint") == f"{server}/register") == (args.mode == "shared")
              and oidc.status_code == 200 and oidc.json().get("issuer") == server, asm)


async def profile_session(label, seconds, args, provider, traffic):
    """A session within `seconds` whose get_self_profile must return the user; whether it completed."""
    try:
        with anyio.fail_after(seconds):
            me = await session(label, args, provider, traffic)
    except Exception as e:
        check(f"[{label}] completes", False, repr(e))
        return False
    check(f"[{label}] get_self_profile returns the user", not me.is_error and args.username in text(me),
          text(me)[:500])
    return True


async def session(label, args, provider, traffic):
    """One MCP session through the provider; returns get_self_profile's result."""
    if args.transport == "sse":
        transport = sse_client(args.url, auth=provider, httpx_client_factory=traffic.http_client)
        async with Client(transport, mode="legacy", raise_exceptions=True) as client:
            return await exercise(label, client)
    async with traffic.http_client(auth=provider) as http:
        async with Client(streamable_http_client(args.url, http_client=http), mode=args.protocol,
                          raise_exceptions=True) as client:
            return await exercise(label, client)


async def exercise(label, client):
    info = client.server_info
    print(f"     [{label}] negotiated protocol {client.protocol_version}", flush=True)
    check(f"[{label}] initialize", info is not None and info.name == "docspace-mcp", info)
    names = {t.name for t in (await client.list_tools()).tools}
    check(f"[{label}] tools/list includes get_self_profile", "get_self_profile" in names, sorted(names))
    return await client.call_tool("get_self_profile", {})


async def main():
    args = parse_args()
    server = origin(args.url)
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    print(f"     server {server}, mode {args.mode}, transport {args.transport}, redirect URI {redirect_uri}", flush=True)

    try:
        await preflight(args, server)
    except Exception as e:
        check("discovery documents are served", False, repr(e))

    metadata = OAuthClientMetadata(redirect_uris=[redirect_uri], client_name=args.client_name,
                                   grant_types=["authorization_code", "refresh_token"], response_types=["code"],
                                   token_endpoint_auth_method="none")
    preset = None
    if args.mode == "own":
        preset = OAuthClientInformationFull(client_id=args.client_id, client_secret=args.client_secret,
                                            token_endpoint_auth_method=args.auth_method, redirect_uris=[redirect_uri],
                                            grant_types=["authorization_code", "refresh_token"])
    storage = Storage(preset)
    browser = Browser(args, redirect_uri, server)
    traffic = Traffic()
    provider = OAuthClientProvider(server_url=args.url, client_metadata=metadata, storage=storage,
                                   redirect_handler=browser.redirect_handler,
                                   callback_handler=browser.callback_handler)

    # First session: 401, discovery, (registration), consent, sign-in, code exchange.
    if not await profile_session("first session", 90, args, provider, traffic):
        print(f"     requests: {', '.join(traffic.log)}", flush=True)
        finish()  # nothing to refresh
    print(f"     requests: {', '.join(traffic.log)}", flush=True)
    check("the authorization flow ran exactly once", browser.runs == 1, browser.runs)

    if args.mode == "shared":
        ok = len(traffic.registrations) == 1 and traffic.registrations[0][1] in (200, 201) \
            and isinstance(traffic.registrations[0][2], dict) \
            and traffic.registrations[0][2].get("token_endpoint_auth_method") == "none"
        check("registered once at /register, as a public client (auth method none)", ok, traffic.registrations)
        if traffic.registrations and isinstance(traffic.registrations[0][2], dict):
            sent = traffic.registrations[0][0]
            got = traffic.registrations[0][2]
            print(f"     registration sent {json.dumps(sent)}; got client_id {short(got.get('client_id'))}, "
                  f"fields {sorted(got)}", flush=True)
    else:
        check("no registration in own mode", not traffic.registrations, traffic.registrations)

    codes = [t for t in traffic.token_calls if t["grant_type"] == "authorization_code"]
    if codes:
        t = codes[0]
        print(f"     code exchange: fields {t['fields']}, Authorization {t['auth']}, resource {t['resource']}", flush=True)
    body = codes[0]["body"] if codes else {}
    check("token response: Bearer with expires_in and refresh_token, no scope",
          len(codes) == 1 and codes[0]["status"] == 200 and body.get("token_type", "").lower() == "bearer"
          and isinstance(body.get("expires_in"), int) and body.get("refresh_token") and "scope" not in body,
          {k: (short(v) if k.endswith("token") else v) for k, v in body.items()} if codes else traffic.token_calls)
    stored = storage.tokens
    check("the stored token has a refresh_token", stored is not None and bool(stored.refresh_token), stored)
    if stored is not None:
        # The SDK fills an omitted scope with the one it asked for (RFC 6749 §5.1) before storing.
        print(f"     stored: access {short(stored.access_token)}, refresh {short(stored.refresh_token)}, "
              f"expires_in {stored.expires_in}, scope as the SDK recorded it {stored.scope!r}", flush=True)

    # Refresh: the SDK refreshes before a request when its context says the token expired
    # (OAuthContext.is_token_valid: time.time() <= token_expiry_time).
    old = stored
    provider.context.token_expiry_time = time.time() - 1
    before, used_before = len(traffic.token_calls), len(traffic.bearers)
    await profile_session("after refresh", 60, args, provider, traffic)
    refreshes = [t for t in traffic.token_calls[before:] if t["grant_type"] == "refresh_token"]
    rbody = refreshes[0]["body"] if refreshes else {}
    if refreshes:
        print(f"     refresh: fields {refreshes[0]['fields']}, Authorization {refreshes[0]['auth']}", flush=True)
    check("the SDK refreshed the token (grant_type=refresh_token, 200, new access token, no scope)",
          len(refreshes) == 1 and refreshes[0]["status"] == 200 and rbody.get("access_token")
          and old is not None and rbody.get("access_token") != old.access_token and "scope" not in rbody,
          [{**t, "body": {k: (short(v) if k.endswith("token") else v) for k, v in t["body"].items()}} for t in refreshes])
    used = set(traffic.bearers[used_before:])
    check("the second session sent only the refreshed token",
          bool(rbody.get("access_token")) and used == {rbody.get("access_token")}
          and storage.tokens is not None and storage.tokens.access_token == rbody.get("access_token"),
          sorted(short(t) for t in used))
    check("no second consent after the refresh", browser.runs == 1, browser.runs)
    finish()


asyncio.run(main())
