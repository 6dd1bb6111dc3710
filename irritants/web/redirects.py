"""Safe redirect targets: only same-origin relative paths (reliability.md S10)."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

MAX_TARGET_LENGTH = 2000
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")
# Browsers drop tabs and newlines anywhere in a URL (WHATWG URL standard).
_DROPPED_BY_BROWSERS = re.compile(r"[\t\n\r]")


def _points_off_site(path: str) -> bool:
    path = _DROPPED_BY_BROWSERS.sub("", path)
    # Browsers read a backslash as a slash: "/\evil.example" is "//evil.example".
    if not path.startswith("/") or path[1:2] in ("/", "\\"):
        return True
    parts = urlsplit(path)
    return bool(parts.scheme or parts.netloc)


def is_safe_target(target: object) -> bool:
    """Whether `target` is a path on this site, such as "/queue?page=2"."""
    if not isinstance(target, str) or not target or len(target) > MAX_TARGET_LENGTH:
        return False
    if _CONTROL_OR_SPACE.search(target) or "\\" in target:
        return False
    # A layer or two of %-encoding must not turn it into "//evil.example" for a browser
    # or a proxy along the way.
    once = unquote(target)
    return not any(_points_off_site(form) for form in (target, once, unquote(once)))


def safe_target(target: object) -> str | None:
    """The target when it is a path on this site, else None."""
    return target if isinstance(target, str) and is_safe_target(target) else None
