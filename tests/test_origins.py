"""Origin matching (redirects, later CORS) and which address is the client's."""

from __future__ import annotations

import ipaddress

import pytest

from service.core.origins import client_ip, origin_allowed, origin_of


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://news.example.org/a/b?c#d", "https://news.example.org"),
        ("http://Example.org:80/x", "http://example.org"),
        ("https://example.org:8443/", "https://example.org:8443"),
        ("http://[::1]:8080/", "http://[::1]:8080"),
        ("javascript:alert(1)", None),
        ("//evil.example/", None),
        ("https://x.example:notaport/", None),
        ("https://nëws.example.org/ä", "https://nëws.example.org"),
    ],
)
def test_origin_of(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin


@pytest.mark.parametrize(
    "url",
    [
        # Browsers (WHATWG URL) read "\\" as "/": this one goes to evil.example, while
        # Python's urlsplit sees news.example.org after the userinfo.
        "https://evil.example\\@news.example.org/",
        "https://news.example.org\\evil.example/",
        "https://news.example.org/a\\b",
        # Userinfo: never part of where a page lives, and a classic disguise.
        "https://evil.example@news.example.org/",
        "https://user:pw@news.example.org/",
        "https://@news.example.org/",
        # Whitespace and control characters browsers strip or drop, and Python may not.
        " https://news.example.org/",
        "https://news.exa\tmple.org/",
        "https://news.example.org/\n",
        "https://news.example.org/a b",
        "https://news.example.org/\x00",
        "https://news.example.org/\x7f",
        "https://news.example.org/\u200b",
        "https://news.example.org\u3000/",
        # Browsers percent-decode a host; Python does not.
        "https://news%2Eexample.org/",
    ],
)
def test_origin_of_refuses_what_browsers_read_differently(url: str) -> None:
    assert origin_of(url) is None


@pytest.mark.parametrize(
    ("origin", "allowed", "ok"),
    [
        ("https://news.example.org", ["https://news.example.org"], True),
        ("https://a.example.org", ["https://*.example.org"], True),
        ("https://a.b.example.org", ["https://*.example.org"], True),
        ("https://example.org", ["https://*.example.org"], False),
        ("https://evilexample.org", ["https://*.example.org"], False),
        ("http://a.example.org", ["https://*.example.org"], False),
        ("https://example.org.evil.test", ["https://example.org"], False),
        ("https://anything.test", ["*"], True),
        ("https://news.example.org", [], False),
    ],
)
def test_origin_allowed(origin: str, allowed: list[str], ok: bool) -> None:
    assert origin_allowed(origin, allowed) is ok


PROXY = (ipaddress.ip_network("10.0.0.0/8"),)


@pytest.mark.parametrize(
    ("peer", "xff", "trusted", "expected"),
    [
        ("203.0.113.5", "198.51.100.1", (), "203.0.113.5"),  # no trusted proxy: header ignored
        ("203.0.113.5", "198.51.100.1", PROXY, "203.0.113.5"),  # peer is not a proxy
        ("10.0.0.2", "198.51.100.1", PROXY, "198.51.100.1"),
        ("10.0.0.2", "6.6.6.6, 198.51.100.1, 10.0.0.9", PROXY, "198.51.100.1"),  # spoofed left
        ("10.0.0.2", "garbage, 10.0.0.3", PROXY, "10.0.0.3"),
        ("10.0.0.2", None, PROXY, "10.0.0.2"),
        (None, None, (), "unknown"),
    ],
)
def test_client_ip(peer: str | None, xff: str | None, trusted: tuple, expected: str) -> None:  # type: ignore[type-arg]
    assert client_ip(peer, xff, trusted) == expected
