"""What the client scripts share: one line per check, and a closing "N passed, M failed"."""

import sys

results = []


def check(name, condition, detail=""):
    results.append(bool(condition))
    print(("ok   " if condition else "FAIL ") + name + ("" if condition else f": {detail}"), flush=True)


def text(result):
    return "\n".join(getattr(c, "text", "") for c in result.content)


def finish():
    """Prints the totals and exits non-zero on any failure (or when nothing was checked)."""
    passed = sum(results)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed", flush=True)
    sys.exit(1 if failed or not passed else 0)
