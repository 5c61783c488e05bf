"""'Your email address will not be published', for imported comments too: after importing
every fixture, the addresses are in no Redis key or value (the AOF on disk included), no log
line, no command output, and no export made without --include-emails."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import redis

from service.core.settings import Settings
from service.entry.embedded_redis import RedisServer
from tests.helpers import data_files, forbidden, key_dump, redis_values, worker_env
from tests.importing import DISQUS, REMARK42, SITE, WORDPRESS, isso_database, run_import

# Every address in the fixtures, the WordPress site's own author included. No other test
# submits them: the session's Redis keeps every test's writes in its AOF.
ADDRESSES = [
    "Zoe.Wxr-7731@Example.NET",
    "wxr-held-3308@import-fixture.example",
    "wxr-spam-6604@import-fixture.example",
    "wxr-trash-1187@import-fixture.example",
    "wxr-trashed-post-4462@import-fixture.example",
    "desk-editor-2290@import-fixture.example",
    "dsq-reader-8812@import-fixture.example",
    "DSQ-Second-4471@Import-Fixture.example",
    "dsq-spam-9921@import-fixture.example",
    "dsq-deleted-5530@import-fixture.example",
    "isso-reader-3391@import-fixture.example",
    "isso-held-2208@import-fixture.example",
]
IDN_ADDRESS = "wxr-idn-5512@bücher-import.example"


def cli(settings: Settings, *args: str) -> bytes:
    done = subprocess.run(
        [sys.executable, "-m", "service.entry.cli", *args],
        env=worker_env(settings),
        capture_output=True,
        timeout=120,
    )
    return done.stdout + b"\n" + done.stderr


def test_imported_addresses_are_never_exposed(
    rconn: redis.Redis,
    settings: Settings,
    redis_server: RedisServer,
    captured_logs: io.StringIO,
    tmp_path: Path,
) -> None:
    keeping = settings.with_overrides(retention_days=100_000)
    isso = isso_database(tmp_path)
    outputs = [
        cli(keeping, "import", "wordpress", str(WORDPRESS)),
        cli(keeping, "import", "disqus", str(DISQUS)),
        cli(keeping, "import", "isso", str(isso), "--site", SITE),
        cli(keeping, "import", "remark42", str(REMARK42)),
        cli(keeping, "import", "wordpress", str(WORDPRESS), "--dry-run"),
        cli(keeping, "import", "disqus", str(WORDPRESS)),  # refused: its error line too
        cli(keeping, "export", "--format", "jsonl"),
        cli(keeping, "export", "--format", "wxr"),
    ]
    exported = tmp_path / "export.xml"
    outputs.append(cli(keeping, "export", "--format", "wxr", "--output", str(exported)))
    outputs.append(exported.read_bytes())
    # In-process as well, so the logging the test captures sees an import's own log lines.
    rconn.flushall()
    for source, path, site in (("wordpress", WORDPRESS, None), ("isso", isso, SITE)):
        run_import(rconn, keeping, source, path, site=site)
    assert "import finished" in captured_logs.getvalue()

    haystacks = {
        "redis keys and values": redis_values(rconn),
        "redis dump": key_dump(rconn),
        "files redis wrote": data_files(redis_server),
        "logs": captured_logs.getvalue().encode(),
        "command output and exports": b"\n".join(outputs),
    }
    needles = {a: forbidden(a, domain="import-fixture" in a.lower()) for a in ADDRESSES}
    needles[IDN_ADDRESS] = forbidden(IDN_ADDRESS, domain=True)
    for where, haystack in haystacks.items():
        for address, forms in needles.items():
            leaked = sorted(f for f in forms if f in haystack)
            assert not leaked, f"{address} found in {where}: {leaked[:3]}"
    # The scan would have seen them: the comments are there, with the address sealed.
    assert b"Zo\xc3\xab Harlow" in haystacks["redis keys and values"]
    assert b"email_sealed" in haystacks["redis keys and values"]
