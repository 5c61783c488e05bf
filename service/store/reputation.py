"""What a spam verdict teaches: the commenter, their IP and their website become suspects."""

from __future__ import annotations

from urllib.parse import urlsplit

from redis.client import Pipeline

from service.core import keys

# How long an IP or website stays a known spam source after its last spam.
SPAM_MEMORY_S = 90 * 24 * 3600


def website_domain(url: str) -> str | None:
    host = urlsplit(url).hostname if url else None
    return host.removeprefix("www.") if host else None


def record_spam(pipe: Pipeline, comment_id: str, record: dict[str, str], created: float) -> None:
    """Queue the writes of a spam verdict: spam folder, and every source marked."""
    pipe.zadd(keys.spam_folder(), {comment_id: created})
    pipe.hincrby(keys.email_reputation(record["email_hash"]), "spam", 1)
    domain = website_domain(record.get("website", ""))
    sources = [keys.ip_reputation(record["ip"])] if record.get("ip") else []
    sources += [keys.domain_reputation(domain)] if domain else []
    for source in sources:
        pipe.incr(source)
        pipe.expire(source, SPAM_MEMORY_S)
