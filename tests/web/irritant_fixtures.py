"""Irritants, photos and payloads for the page tests of the irritant areas."""

from __future__ import annotations

import re
import struct
import zlib
from html import unescape
from html.parser import HTMLParser
from typing import Any


def tiny_png(width: int = 2, height: int = 2) -> bytes:
    """A real, valid PNG image (grey pixels)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def user(email: str) -> Any:
    """A user of the small org."""
    from irritants.services.accounts import find_user_by_email

    found = find_user_by_email(email)
    assert found is not None, email
    return found


def log_as(email: str, **fields: Any) -> Any:
    """Log an irritant through the service, as that user (a medium "rude-service" by
    default: Store Lille has what it takes, so it stays at Lille)."""
    from irritants.services.intake import log_irritant

    values: dict[str, Any] = {
        "category": "rude-service", "severity": "medium", "description": "Nobody said hello",
    }
    values.update(fields)
    return log_irritant(user(email), **values)


def route_rules_context() -> dict[str, Any]:
    """An irritant logged by agent.lille, assigned to Store Lille, with one photo."""
    from irritants.services.intake import attach_photo

    irritant = log_as("agent.lille@example.com")
    photo = attach_photo(irritant.id, actor=user("agent.lille@example.com"),
                         data=tiny_png(), filename="shelf.png")
    return {"irritant": irritant.id, "photo": photo.id}


XSS_PAYLOADS = (
    '<script>alert("xss-1")</script>',
    '"><img src=x onerror=alert("xss-2")>',
    "javascript:alert('xss-3')",
    "</textarea><svg onload=alert('xss-4')>",
)


def english(client: Any) -> Any:
    """The client asks for English pages (users of the small org have no language set)."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def page_text(html: str) -> str:
    """The visible text of a page, entities decoded, HTML whitespace collapsed as a browser
    does (a no-break space is not HTML whitespace: it stays)."""
    parser = _Collector()
    parser.feed(html)
    return re.sub(r"[ \t\n\r\f]+", " ", " ".join(parser.text)).strip(" ")


def input_of(html: str, name: str) -> str:
    """The <input> of that name (there is one)."""
    found = re.findall(rf'<input[^>]*\bname="{name}"[^>]*>', html)
    assert len(found) == 1, found
    return found[0]


def value_of(html: str, name: str) -> str:
    """The value of the <input> of that name, entities decoded."""
    value = re.search(r'\bvalue="([^"]*)"', input_of(html, name))
    assert value is not None
    return unescape(value.group(1))


def assert_inert(html: str, payloads: tuple[str, ...] = XSS_PAYLOADS) -> None:
    """No element, attribute or URL scheme of the payloads made it into the DOM, and each
    payload is there as text."""
    parser = _Collector()
    parser.feed(html)
    for tag, attributes in parser.elements:
        for name, value in attributes:
            assert not name.startswith("on"), (tag, name, value)
            assert not (value or "").strip().lower().startswith("javascript:"), (tag, name)
        if tag == "img":
            assert dict(attributes).get("src") != "x"
    assert not any("xss-" in script for script in parser.scripts)
    text = " ".join(parser.text) + " ".join(parser.attribute_values)
    for payload in payloads:
        assert payload in text, payload


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self.attribute_values: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))
        self.attribute_values += [value for _name, value in attrs if value]
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        (self.scripts if self._in_script else self.text).append(data)
