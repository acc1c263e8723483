"""The OAuth consent and sign-in pages in a real browser: headless Chromium driven over W3C WebDriver.

Usage: python consent_browser.py --authorize-url URL --expect-text TEXT [--expect-text TEXT ...]
                                 --decision allow|deny --username U --password P --redirect-prefix PREFIX
                                 [--chromium /usr/bin/chromium] [--chromedriver /usr/bin/chromedriver]
Starts chromedriver on a free loopback port (talked to with urllib only: no Selenium), opens the proxy's
authorization URL, checks the consent page shows every expected text (the client's name, its redirect URI),
clicks #allow or #deny; on allow, fills #username and #password on the portal's sign-in page and clicks its
#allow. Then waits until the browser is at the client's redirect URI (PREFIX; nothing listens there, so the
page fails to load, but its URL is still readable) and prints one line `RESULT {"url": "<final url>"}`.
Prints one line per check and a closing "N passed, M failed"; exits non-zero on any failure.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlparse

from checks import check, finish

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C WebDriver element reference key


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--authorize-url", required=True)
    p.add_argument("--expect-text", action="append", default=[], help="text the consent page must show (repeatable)")
    p.add_argument("--decision", required=True, choices=["allow", "deny"])
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--redirect-prefix", required=True, help="the client's redirect URI (where the flow must end)")
    p.add_argument("--chromium", default="/usr/bin/chromium")
    p.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    p.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for each page")
    return p.parse_args()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebDriverError(Exception):
    pass


class WebDriver:
    """The few W3C WebDriver commands this needs, over plain HTTP."""

    def __init__(self, base):
        self.base, self.session = base, None

    def call(self, method, path, body=None, timeout=60):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json; charset=utf-8"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            try:
                value = json.loads(e.read()).get("value", {})
            except ValueError:
                value = {}
            raise WebDriverError(f"{method} {path}: {e.code} {value.get('error')}: "
                                 f"{(value.get('message') or '').splitlines()[0] if value.get('message') else ''}") from None

    def s(self, method, path="", body=None, timeout=60):
        return self.call(method, f"/session/{self.session}{path}", body, timeout)

    def start(self, chromium, profile):
        args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}"]
        caps = {"browserName": "chrome", "pageLoadStrategy": "normal",
                "goog:chromeOptions": {"binary": chromium, "args": args}}
        value = self.call("POST", "/session", {"capabilities": {"alwaysMatch": caps}}, timeout=90)
        self.session = value["sessionId"]
        self.s("POST", "/timeouts", {"pageLoad": 20000, "script": 10000, "implicit": 0})
        return value.get("capabilities", {}).get("browserVersion")

    def quit(self):
        if self.session:
            try:
                self.s("DELETE", timeout=20)
            except Exception as e:  # the browser may already be gone
                print(f"     (deleting the WebDriver session: {e})", flush=True)
            self.session = None

    def navigate(self, url):
        self.s("POST", "/url", {"url": url})

    def url(self):
        return self.s("GET", "/url")

    def find(self, css, timeout):
        """The element matching `css`, polling until `timeout` seconds; None if it never appears."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                found = self.s("POST", "/elements", {"using": "css selector", "value": css})
                if found:
                    return found[0][ELEMENT]
            except WebDriverError:
                pass  # e.g. the page is navigating
            if time.monotonic() > deadline:
                return None
            time.sleep(0.2)

    def click(self, element):
        self.s("POST", f"/element/{element}/click", {})

    def type(self, element, value):
        self.s("POST", f"/element/{element}/clear", {})
        self.s("POST", f"/element/{element}/value", {"text": value})

    def script(self, source):
        return self.s("POST", "/execute/sync", {"script": source, "args": []})

    def body_text(self):
        try:
            return self.script("return document.body ? document.body.innerText : ''") or ""
        except WebDriverError:
            return ""


def wait_until(predicate, timeout, interval=0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def start_chromedriver(binary, log_path):
    port = free_port()
    log = open(log_path, "wb")
    # Its own process group, so the browser it launches can be ended with it (by that group's id).
    proc = subprocess.Popen([binary, f"--port={port}", "--allowed-ips=127.0.0.1"], start_new_session=True,
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    driver = WebDriver(f"http://127.0.0.1:{port}")

    def ready():
        if proc.poll() is not None:
            raise RuntimeError(f"chromedriver exited with {proc.returncode}")
        try:
            return (driver.call("GET", "/status", timeout=2) or {}).get("ready")
        except (OSError, WebDriverError):
            return False

    if not wait_until(ready, 20):
        raise RuntimeError("chromedriver did not become ready")
    return proc, driver, log


def run(args, driver):
    version = driver.start(args.chromium, args.profile)
    print(f"     Chromium {version} over WebDriver", flush=True)

    driver.navigate(args.authorize_url)
    shown = driver.body_text()
    check("the consent page has loaded", bool(driver.find("#allow", args.timeout)) and bool(driver.find("#deny", 1)),
          f"{driver.url()}: {shown[:300]!r}")
    for expected in args.expect_text:
        check(f"the consent page shows {expected!r}", expected in shown, shown[:1000])

    driver.click(driver.find(f"#{args.decision}", args.timeout))
    if args.decision == "allow":
        user = driver.find("#username", args.timeout)
        check("the portal's sign-in page follows the consent", user is not None,
              f"{driver.url()}: {driver.body_text()[:300]!r}")
        if user is None:
            return None
        driver.type(user, args.username)
        driver.type(driver.find("#password", args.timeout), args.password)
        driver.click(driver.find("#allow", args.timeout))

    final = wait_until(lambda: (lambda u: u if u and u.startswith(args.redirect_prefix) else None)(driver.url()),
                       args.timeout)
    check("the browser ends at the client's redirect URI", final is not None,
          f"{driver.url()}: {driver.body_text()[:300]!r}")
    if final is None:
        return None
    print("RESULT " + json.dumps({"url": final}), flush=True)
    query = parse_qs(urlparse(final).query)
    if args.decision == "allow":
        check("the redirect carries a code and state", "code" in query and "state" in query and "error" not in query,
              sorted(query))
    else:
        check("the redirect carries error=access_denied and no code",
              query.get("error") == ["access_denied"] and "code" not in query, sorted(query))
    return final


def main():
    args = parse_args()
    for binary in (args.chromium, args.chromedriver):
        if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            check(f"{binary} is installed", False, "not found or not executable")
            finish()
    workdir = tempfile.mkdtemp(prefix="consent-browser-")
    args.profile = os.path.join(workdir, "profile")
    log_path = os.path.join(workdir, "chromedriver.log")
    proc = driver = log = None
    try:
        proc, driver, log = start_chromedriver(args.chromedriver, log_path)
        run(args, driver)
    except Exception as e:
        check("the browser session completes", False, repr(e))
        try:
            with open(log_path, "rb") as f:
                tail = f.read()[-2000:].decode(errors="replace")
            print(f"     chromedriver log (tail):\n{tail}", file=sys.stderr, flush=True)
        except OSError:
            pass
    finally:
        if driver is not None:
            driver.quit()
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            try:  # whatever chromedriver started and left behind (a browser whose session did not close)
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if log is not None:
            log.close()
        shutil.rmtree(workdir, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
