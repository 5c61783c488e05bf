"""Reading every comment out for `comments export`, one article at a time.

Comment keys carry their article's hash tag, so one SCAN finds every comment and groups it by
article without reading a record; each article's records are then read in pipelined batches
and handed over oldest first. Memory holds the keys and one article's comments. The sealed
address is read, and opened, only when the operator asked for addresses.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

import redis

from service.core import keys
from service.core.formats.model import ArticleComments
from service.core.records import as_text
from service.core.sealing import EmailVault
from service.core.statuses import Status

FIELDS = (
    "id",
    "article",
    "title",
    "parent_id",
    "name",
    "website",
    "comment",
    "status",
    "created_at",
)
SEALED = "email_sealed"
BATCH = 1000


def articles(
    conn: redis.Redis, only: Sequence[str] = (), vault: EmailVault | None = None
) -> Iterator[ArticleComments]:
    """Every article's comments (erased ones excluded), or those of the articles in `only`,
    with FIELDS. With `vault`, each comment that has an address carries it, opened, as
    "email"."""
    wanted = set(only)
    for tag_keys in _keys_by_article(conn, only):
        by_article: dict[str, list[dict[str, str]]] = defaultdict(list)
        for record in _records(conn, tag_keys, vault):
            if record.get("status") != Status.DELETED and (
                not wanted or record.get("article") in wanted
            ):
                by_article[record.get("article", "")].append(record)
        for article, comments in sorted(by_article.items()):
            comments.sort(key=lambda c: (float(c.get("created_at") or 0), c.get("id", "")))
            title = next((c["title"] for c in comments if c.get("title")), "")
            yield ArticleComments(article, title, comments)


def _keys_by_article(conn: redis.Redis, only: Sequence[str]) -> list[list[str]]:
    patterns = [keys.comment_pattern(a) for a in dict.fromkeys(only)] or [keys.comment_pattern()]
    groups: dict[str, list[str]] = defaultdict(list)
    for pattern in patterns:
        for raw in conn.scan_iter(match=pattern, count=BATCH):
            key = as_text(raw)
            groups[key.partition("{")[2].partition("}")[0]].append(key)
    return [sorted(groups[tag]) for tag in sorted(groups)]


def _records(
    conn: redis.Redis, comment_keys: list[str], vault: EmailVault | None
) -> Iterator[dict[str, str]]:
    fields = (*FIELDS, SEALED) if vault is not None else FIELDS
    for start in range(0, len(comment_keys), BATCH):
        with conn.pipeline(transaction=False) as pipe:
            for key in comment_keys[start : start + BATCH]:
                pipe.hmget(key, fields)
            rows = pipe.execute()
        for row in rows:
            record = {f: as_text(v) for f, v in zip(fields, row, strict=True) if v is not None}
            if not record.get("id"):
                continue  # removed since the scan
            sealed = record.pop(SEALED, "")
            if vault is not None and sealed:
                record["email"] = vault.open(sealed, record["id"])
            yield record
