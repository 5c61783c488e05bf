"""Page URLs are stored without what readers' own URLs carry: query strings and fragments.

Newsletters and login flows put addresses and tokens into page URLs
(`…/story?utm_source=newsletter&email=a%40b.org`); the widget sends the page's URL and the
browser its Referer. Only the page itself is kept (and the few parameters that name a page on
sites without pretty URLs), and the commenter's erasure removes even that.
"""

from __future__ import annotations

import pytest
import redis

from service.core.records import page_url
from service.core.settings import Settings
from tests.helpers import Client, run_cli, stored_comments, submit

ADDRESS = "reader.4412@example.org"
TRACKED = "https://news.example.org/lunar?utm_source=newsletter&email=reader.4412%40example.org"


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        (TRACKED + "#comments", "https://news.example.org/lunar"),
        ("https://news.example.org/?p=123&email=a%40b.org", "https://news.example.org/?p=123"),
        ("https://news.example.org/?page_id=7&p=9", "https://news.example.org/?page_id=7&p=9"),
        ("https://user:pw@news.example.org:8443/a/b/", "https://news.example.org:8443/a/b/"),
        ("https://NEWS.example.org", "https://news.example.org/"),
        ("javascript:alert(1)", ""),
        ("mailto:reader@example.org", ""),
        ("not a url", ""),
        ("", ""),
    ],
)
def test_page_url_keeps_the_page_only(url: str, kept: str) -> None:
    assert page_url(url) == kept


async def test_addresses_in_page_urls_are_never_stored(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    cid = await submit(
        client, email=ADDRESS, article_url=TRACKED + "#c-1", headers={"Referer": TRACKED}
    )
    record = stored_comments(rconn)[cid]
    assert record["article_url"] == "https://news.example.org/lunar"
    assert record["referrer"] == "https://news.example.org/lunar"
    assert b"reader.4412" not in b"".join(rconn.dump(k) or b"" for k in rconn.scan_iter())


async def test_erasure_removes_page_urls_with_the_personal_data(
    client: Client, rconn: redis.Redis, settings: Settings
) -> None:
    cid = await submit(client, email=ADDRESS, article_url=TRACKED, headers={"Referer": TRACKED})
    run_cli(settings, "privacy", "erase", "--email", ADDRESS)
    record = stored_comments(rconn)[cid]
    assert "article_url" not in record
    assert "referrer" not in record
