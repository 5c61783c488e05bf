"""`comments export --format jsonl`: one JSON object per comment, article by article.

`{"id", "article", "title", "parent_id", "name", "website", "text", "status", "created_at"}`
(`created_at` in ISO 8601, UTC; absent values are null), and `"email"` only when the operator
asked for addresses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

from service.core.formats.model import ArticleComments


def lines(article: ArticleComments) -> Iterator[str]:
    for c in article.comments:
        row: dict[str, object] = {
            "id": c["id"],
            "article": article.article,
            "title": c.get("title") or None,
            "parent_id": c.get("parent_id") or None,
            "name": c.get("name", ""),
            "website": c.get("website") or None,
            "text": c.get("comment", ""),
            "status": c.get("status", ""),
            "created_at": iso(c.get("created_at")),
        }
        if "email" in c:
            row["email"] = c["email"]
        yield json.dumps(row, ensure_ascii=False) + "\n"


def iso(created_at: str | None) -> str:
    moment = datetime.fromtimestamp(float(created_at or 0), UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
