"""Files an import must refuse: entity bombs, external entities (a local file, a URL),
truncated and wrongly encoded files, exports of another system. Each gets one clear line with
the position, and nothing is written, not even the threads before the problem."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from service.core.formats.model import FormatError
from service.core.settings import Settings
from service.entry.embedded_redis import free_port
from tests.helpers import all_keys, run_cli, worker_env
from tests.importing import DISQUS, REMARK42, WORDPRESS, isso_database, run_import

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
RSS = '<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/"><channel>'
COMMENT = (
    "<item><title>t</title><link>https://news.example.org/p/</link><wp:post_id>1</wp:post_id>"
    "<wp:comment><wp:comment_id>1</wp:comment_id><wp:comment_author>a</wp:comment_author>"
    "<wp:comment_content>{content}</wp:comment_content>"
    "<wp:comment_approved>1</wp:comment_approved></wp:comment></item>"
)


def wxr_with_dtd(dtd: str, content: str) -> str:
    return (
        f"{HEAD}<!DOCTYPE rss [\n{dtd}\n]>\n{RSS}{COMMENT.format(content=content)}</channel></rss>"
    )


BILLION_LAUGHS = wxr_with_dtd(
    '<!ENTITY lol "lol">\n'
    + "\n".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    ),
    "&lol9;",
)


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP port on this machine that records every connection made to it."""
    hits: list[bytes] = []
    server = socket.create_server(("127.0.0.1", free_port()))
    server.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                hits.append(conn.recv(1024))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], hits
    stop.set()
    thread.join()
    server.close()


def refused(conn: redis.Redis, settings: Settings, source: str, path: Path) -> FormatError:
    with pytest.raises(FormatError) as caught:
        run_import(conn, settings, source, path)
    assert all_keys(conn) == []  # nothing at all was written
    return caught.value


def test_an_entity_bomb_is_refused_at_once(
    rconn: redis.Redis, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "bomb.xml"
    path.write_text(BILLION_LAUGHS)
    error = refused(rconn, settings, "wordpress", path)
    assert "DTD" in str(error)  # refused for declaring one, before any entity was expanded
    assert error.line is not None


@pytest.mark.parametrize("target", ["file", "url"])
def test_external_entities_are_never_read(
    rconn: redis.Redis,
    settings: Settings,
    tmp_path: Path,
    listener: tuple[int, list[bytes]],
    target: str,
) -> None:
    port, hits = listener
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-LOCAL-FILE")
    where = secret.as_uri() if target == "file" else f"http://127.0.0.1:{port}/entity"
    path = tmp_path / "xxe.xml"
    path.write_text(wxr_with_dtd(f'<!ENTITY xxe SYSTEM "{where}">', "&xxe;"))
    error = refused(rconn, settings, "wordpress", path)
    assert "DTD" in str(error)
    assert "TOP-SECRET" not in str(error)
    # An external DTD is not fetched either.
    path.write_text(
        f'{HEAD}<!DOCTYPE rss SYSTEM "http://127.0.0.1:{port}/wxr.dtd">\n'
        f"{RSS}{COMMENT.format(content='x')}</channel></rss>"
    )
    refused(rconn, settings, "wordpress", path)
    time.sleep(0.3)
    assert hits == []


def test_a_truncated_file_writes_not_even_its_complete_threads(
    rconn: redis.Redis, settings: Settings, tmp_path: Path
) -> None:
    text = WORDPRESS.read_text(encoding="utf-8")
    cut = tmp_path / "cut.xml"
    cut.write_text(text[: text.index("<title><![CDATA[About us]]>") + 30], encoding="utf-8")
    error = refused(rconn, settings, "wordpress", cut)
    assert error.line is not None
    assert error.line > 200
    assert "not well-formed XML" in str(error)


def test_deep_nesting_stops_at_libxml2s_limit(
    rconn: redis.Redis, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "deep.xml"
    path.write_text(f"{HEAD}{RSS}{'<x>' * 5000}{'</x>' * 5000}</channel></rss>")
    assert "not well-formed XML" in str(refused(rconn, settings, "wordpress", path))


def test_a_wrong_encoding_names_the_position(
    rconn: redis.Redis, settings: Settings, tmp_path: Path
) -> None:
    latin1 = tmp_path / "latin1.xml"  # declared UTF-8, written in Latin-1
    latin1.write_bytes(WORDPRESS.read_text(encoding="utf-8").encode("latin-1", "replace"))
    error = refused(rconn, settings, "wordpress", latin1)
    assert "encoding" in str(error)
    assert (error.line, error.column) != (None, None)


def test_a_declared_encoding_is_honoured(
    rconn: redis.Redis, settings: Settings, tmp_path: Path
) -> None:
    text = WORDPRESS.read_text(encoding="utf-8")
    utf16 = tmp_path / "utf16.xml"
    utf16.write_bytes(text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"))
    assert run_import(rconn, settings, "wordpress", utf16).added["approved"] == 6


@pytest.mark.parametrize(
    ("source", "path", "says"),
    [
        ("wordpress", DISQUS, "this is a Disqus export"),
        ("disqus", WORDPRESS, "this is a WordPress export"),
        ("wordpress", REMARK42, "not well-formed XML"),
        ("remark42", WORDPRESS, "not JSON"),
        ("isso", WORDPRESS, "not an Isso database"),
    ],
)
def test_another_systems_file_is_named(
    rconn: redis.Redis, settings: Settings, source: str, path: Path, says: str
) -> None:
    assert says in str(refused(rconn, settings, source, path))


def test_an_rss_feed_is_not_an_export(
    rconn: redis.Redis, settings: Settings, tmp_path: Path
) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_text(
        f'{HEAD}<rss version="2.0"><channel><item><title>x</title></item></channel></rss>'
    )
    assert "not a WordPress export" in str(refused(rconn, settings, "wordpress", feed))


def test_an_isso_file_that_is_no_database(
    rconn: redis.Redis, settings: Settings, tmp_path: Path
) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"\x00\x01garbage" * 100)
    assert "not an Isso database" in str(refused(rconn, settings, "isso", garbage))
    empty = tmp_path / "empty.db"
    isso_database(tmp_path).rename(empty)
    with sqlite3.connect(empty) as db:
        db.execute("DROP TABLE comments")
    db.close()
    assert "no threads and comments tables" in str(refused(rconn, settings, "isso", empty))


@pytest.mark.parametrize("source", ["wordpress", "disqus", "isso", "remark42"])
def test_a_missing_file(
    rconn: redis.Redis, settings: Settings, tmp_path: Path, source: str
) -> None:
    error = refused(rconn, settings, source, tmp_path / "missing.xml")
    assert "file" in str(error)


def test_the_command_says_it_in_one_line(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "bomb.xml"
    path.write_text(BILLION_LAUGHS)
    done = subprocess.run(
        [sys.executable, "-m", "service.entry.cli", "import", "wordpress", str(path)],
        env=worker_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    [line] = [x for x in done.stderr.splitlines() if not x.startswith("{")]
    assert line.startswith(f"comments: {path}: line ")
    assert line.endswith("nothing was imported")
    assert run_cli(settings, "import", "wordpress", str(WORDPRESS), "--dry-run").startswith(
        "Would import from WordPress"
    )
