"""Log redaction: every form an address takes in text that leaves the process is replaced.

The table holds the unusual forms probes found (internationalised, percent-encoded, escaped,
quoted); each row names the parts that must not survive. Over-redacting costs nothing, so the
rows only check what is gone and that the marker is there.
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import urllib.request
from urllib.parse import quote, urlencode

import pytest
import redis

from service.core.logs import configure_logging
from service.core.redaction import redact
from service.core.settings import Settings
from service.entry.embedded_redis import free_port
from service.queueing.queues import queue
from tests.helpers import API, Client, api_ready_sync, run_worker_burst, worker_env

IDN = "用户x@例子.广告"
IDN_PARTS = ("用户x", "例子", "广告", "xn--fsqu00a", "xn--4rr70v")
BYTES_REPR = repr(IDN.encode())  # b'\xe7\x94\xa8...@\xe4...'

CASES: list[tuple[str, tuple[str, ...]]] = [
    # Plain and ASCII forms.
    ("user ann@example.com posted", ("ann", "example.com")),
    ("<Ann.Reader+news@mail.example.co.uk>", ("Ann.Reader", "mail.example")),
    ("email='x_y@sub.example.org'", ("x_y", "sub.example")),
    ("mailto:reader-1@example.net?subject=hi", ("reader-1", "example.net")),
    ("to <reader-2@example.net>: refused", ("reader-2", "example.net")),
    ("ANN.UPPER@EXAMPLE.COM", ("ANN.UPPER", "EXAMPLE.COM")),
    ("no-tld@localhost said hi", ("no-tld",)),
    ("literal@[192.0.2.7] too", ("literal", "192.0.2.7")),
    # Internationalised: Unicode domain, non-ASCII local part, punycode.
    (f"from {IDN} today", IDN_PARTS),
    ("x@例子.广告", ("例子", "广告")),
    ("x@xn--fsqu00a.xn--4rr70v", ("xn--fsqu00a", "xn--4rr70v")),
    ("Ünïcødé.Ñame@bücher.de", ("Ünïcødé", "bücher")),
    ("ü@xn--bcher-kva.de", ("xn--bcher-kva",)),
    # Quoted local parts.
    ('"john doe"@example.com wrote', ("john doe", "example.com")),
    ('"a@b"@quoted.example', ("a@b", "quoted.example")),
    # Percent-encoded, once and twice, as in access-log URLs and user agents.
    ("GET /api/v1/comments?email=ann%40example.com HTTP/1.1", ("ann", "example.com")),
    ("GET /x?u=https%3A%2F%2Fn.example%2F%3Fe%3Dann%2540example.com HTTP/1.1", ("ann%25",)),
    ("Mozilla/5.0 (X11) a%40b.org", ("a%40b.org", "b.org")),
    (quote(IDN), (quote("用户x"), quote("例子"))),
    ("https://news.example.org/a?utm=x&email=ann%40example.com#top", ("ann", "example.com")),
    # Escaped: JSON \u escapes, Python reprs of bytes, HTML entities, full-width @.
    (json.dumps({"email": IDN}), ("\\u7528\\u6237x", "\\u4f8b\\u5b50")),
    (json.dumps({"email": "ann\u0040example.com"}), ("ann", "example.com")),
    ('{"email": "ann\\u0040example.com"}', ("ann", "example.com")),
    (BYTES_REPR, ("\\xe7\\x94\\xa8", "\\xe4\\xbe\\x8b")),
    (f"{{{IDN!r}: (550, {BYTES_REPR})}}", (*IDN_PARTS, "\\xe7\\x94\\xa8")),
    ("ann&#64;example.com", ("ann", "example.com")),
    ("ann&#x40;example.com", ("ann", "example.com")),
    ("ann\uff20example.com", ("ann", "example.com")),  # full-width @
    # Inside other syntax.
    ("(ann@example.com)", ("ann", "example.com")),
    ("a@b.org,c@d.org;e@f.org", ("b.org", "d.org", "f.org")),
    ("=?utf-8?b?55So5oi3eA==?=@=?utf-8?b?5L6L5a2QLuW5v+WRig==?=", ("55So5oi3eA", "5L6L5a2Q")),
]


@pytest.mark.parametrize(("line", "secrets"), CASES)
def test_every_form_of_an_address_is_redacted(line: str, secrets: tuple[str, ...]) -> None:
    out = redact(line)
    assert "[email]" in out, out
    for secret in secrets:
        assert secret not in out, f"{secret!r} survived in {out!r}"


@pytest.mark.parametrize(
    "line",
    [
        '127.0.0.1 [x] "GET /api/v1/comments?article=a HTTP/1.1" 202 5 "-" "curl/8"',
        "a @ b, 100% done, 40% off, user: anna",
        'Traceback (most recent call last):\n  File "x.py", line 1, in <module>',
    ],
)
def test_lines_without_an_address_are_kept(line: str) -> None:
    assert redact(line) == line


def test_redaction_does_not_backtrack_on_long_hostile_lines() -> None:
    # Access-log lines are bounded by the header limit, but the filter must not backtrack: a
    # pattern that did would take hours on this line, not milliseconds. Run in a child with a
    # generous limit, so such a pattern fails the test instead of hanging the suite (a hang
    # guard, not a speed claim).
    code = (
        "from service.core.redaction import redact;"
        "line = 'a' * 200_000 + '%40' + 'b.' * 100_000 + ' x@' * 20_000;"
        "print(redact(line).split(' ')[0], redact(line).count('[email]'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split() == ["[email]", str(1 + 20_000)]


def test_configured_logging_redacts_messages_args_and_tracebacks() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("DEBUG", "text", stream)
        log = logging.getLogger("test.privacy")
        log.info("comment from %s", "ann@example.com")
        try:
            raise ValueError(f"bad address bob@example.org and {IDN.encode()!r}")
        except ValueError:
            log.exception("failed for %s", "carol@example.net")
        log.warning("stack for %s", IDN, stack_info=True)
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
    output = stream.getvalue()
    assert "comment from [email]" in output
    assert "ValueError" in output
    for leak in ("ann@", "bob@", "carol@", *IDN_PARTS, "\\xe7\\x94\\xa8"):
        assert leak not in output


async def test_the_api_access_log_redacts_urls_and_user_agents(
    client: Client, captured_logs: io.StringIO
) -> None:
    agent = f"Mozilla/5.0 (reader a%40b.org; {quote(IDN)}; {IDN})"
    resp = await client.get(
        "/api/v1/comments",
        params={"article": "a", "email": IDN, "e2": "a%40b.org"},
        headers={"User-Agent": agent, "Referer": "https://n.example/?email=a%40b.org"},
    )
    assert resp.status < 500
    lines = captured_logs.getvalue()
    assert "GET " in lines, "the access log wrote nothing"
    for leak in ("a%40b.org", "a%2540b.org", "b.org", *IDN_PARTS, quote("用户x")):
        assert leak not in lines, leak


def test_the_worker_log_redacts_job_descriptions(rconn: redis.Redis, settings: Settings) -> None:
    # Jobs carry ids only; if one ever carried an address, RQ would log it with the call.
    for arg in ("a%40b.org", IDN, quote(IDN)):
        queue(rconn, settings).enqueue("workers.jobs.no_such_job", arg)
    worker = run_worker_burst(settings)
    output = worker.stdout + worker.stderr
    assert "no_such_job" in output
    for leak in ("a%40b.org", "b.org", *IDN_PARTS, quote("用户x")):
        assert leak not in output, leak


@pytest.mark.parametrize("access_log", [False, True])
def test_the_api_process_logs_requests_only_when_asked(
    settings: Settings, access_log: bool
) -> None:
    """`comments api` writes no line per request by default (COMMENTS_ACCESS_LOG): such a line
    keeps the reader's IP, and cost more than half of accepting a comment. Asked for, each
    request gets one, redacted like every other line."""
    port = free_port()
    env = {
        **worker_env(settings.with_overrides(access_log=access_log)),
        "COMMENTS_LOG_LEVEL": "INFO",
    }
    api = subprocess.Popen(
        [*API, "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        api_ready_sync(f"http://127.0.0.1:{port}", api)
        query = urlencode({"article": "a", "email": "reader@example.org"})
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/comments?{query}") as resp:
            assert resp.status == 200
    finally:
        api.terminate()
        output, _ = api.communicate(timeout=30)
    lines = output.decode(errors="replace")
    assert ("GET /readyz HTTP/1.1" in lines) is access_log, lines
    assert ("GET [email] HTTP/1.1" in lines) is access_log, lines  # the URL held an address
    assert "reader@example.org" not in lines
    assert "reader%40example.org" not in lines
