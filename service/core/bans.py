"""Bans by IP range and by website domain: what an admin may type, and matching a submission.

Pure: the list is read from Redis by service/store/bans.py and kept in each API process, so
matching must be cheap on the hot intake path. A range is found by one set look-up per prefix
length in use (not one comparison per range), a domain by one per label of the website's host.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

RANGE, DOMAIN = "range", "domain"
MAX_ENTRY = 300
# Broader ranges would ban whole providers or continents: a typo's worth of collateral damage.
MIN_PREFIX = {4: 8, 6: 16}
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
# Digits and dots, or anything with a colon outside a URL: meant as an address.
_IP_LIKE = re.compile(r"[0-9./]+|[0-9a-fA-F.:]*:[0-9a-fA-F.:]*(/.*)?")


class BadEntry(ValueError):
    """What an admin typed is neither an IP range nor a website domain we can ban."""


@dataclass(frozen=True, slots=True)
class Entry:
    kind: str  # RANGE or DOMAIN
    value: str  # normalised: "203.0.113.0/24", "2001:db8::/32", "example.com"

    @property
    def key(self) -> str:
        """Its field in the stored list."""
        return f"{self.kind}:{self.value}"

    @classmethod
    def from_key(cls, key: str) -> Entry:
        kind, _, value = key.partition(":")
        if kind not in (RANGE, DOMAIN) or not value:
            raise BadEntry(key)
        return cls(kind, value)


def parse_entry(text: str) -> Entry:
    """An IP address or CIDR range (IPv4 or IPv6), or a website's domain (a URL is fine:
    its host is taken). Raises BadEntry with a message for the admin."""
    text = text.strip()
    if not text or len(text) > MAX_ENTRY:
        raise BadEntry(f"Type an IP range or a website domain (1 to {MAX_ENTRY} characters).")
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        if _IP_LIKE.fullmatch(text):
            raise BadEntry(
                f"{text} is not an IP range: write it as 203.0.113.0/24 or 2001:db8::/32."
            ) from None
        return Entry(DOMAIN, _domain(text))
    try:
        ipaddress.ip_network(text)
    except ValueError:
        raise BadEntry(f"{text} has host bits set: did you mean {network}?") from None
    if network.prefixlen < MIN_PREFIX[network.version]:
        raise BadEntry(
            f"{network} is too broad: IPv{network.version} ranges are /"
            f"{MIN_PREFIX[network.version]} or narrower."
        )
    return Entry(RANGE, str(network))


def _domain(text: str) -> str:
    host = host_of(text if "//" in text else f"//{text}")
    host = host.removeprefix("*.").removeprefix(".")
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise BadEntry(
            f"{text!r} is not a website domain: write it as example.com (its subdomains are "
            "banned with it)."
        )
    return host


def host_of(url: str) -> str:
    """A URL's host, lower case, without a trailing dot, international names as ASCII (so
    what a commenter writes in Unicode meets what an admin typed in ASCII, and the reverse)."""
    try:
        host = (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return ""
    if host.isascii():
        return host.lower()
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return ""


@dataclass(frozen=True, slots=True)
class Listed:
    entry: Entry
    by: str
    at: float
    until: float | None  # None: for good


class BanList:
    """The bans in force, arranged for matching."""

    def __init__(self, listed: Iterable[Listed] = (), now: float = 0.0) -> None:
        self.listed = [item for item in listed if item.until is None or item.until > now]
        # (IP version, prefix length) -> the networks' addresses shifted to their prefix.
        self._networks: dict[tuple[int, int], dict[int, Entry]] = {}
        self._domains: set[str] = set()
        self._until: dict[str, float] = {}
        for item in self.listed:
            if item.until is not None:
                self._until[item.entry.key] = item.until
            if item.entry.kind == DOMAIN:
                self._domains.add(item.entry.value)
                continue
            net = ipaddress.ip_network(item.entry.value)
            shift = net.max_prefixlen - net.prefixlen
            by_prefix = self._networks.setdefault((net.version, net.prefixlen), {})
            by_prefix[int(net.network_address) >> shift] = item.entry

    def __bool__(self) -> bool:
        return bool(self.listed)

    def match(self, ip: str, website: str | None, now: float) -> Entry | None:
        """The ban a submission from `ip` with `website` falls under, if any."""
        if not self.listed:  # the common case: nothing to parse
            return None
        found = self._ip(ip) or (self._domain(website) if website else None)
        if found is not None and self._until.get(found.key, now + 1) <= now:
            return None  # expired since the list was read
        return found

    def _ip(self, ip: str) -> Entry | None:
        if not self._networks:
            return None
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:  # "unknown": no address to judge
            return None
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # a dual-stack socket's view of an IPv4 client
        bits = address.max_prefixlen
        for (version, prefix), networks in self._networks.items():
            if version == address.version:
                found = networks.get(int(address) >> (bits - prefix))
                if found is not None:
                    return found
        return None

    def _domain(self, website: str) -> Entry | None:
        if not self._domains:
            return None
        labels = host_of(website).split(".")
        for start in range(len(labels) - 1):
            candidate = ".".join(labels[start:])
            if candidate in self._domains:
                return Entry(DOMAIN, candidate)
        return None
