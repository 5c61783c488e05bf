"""`comments dev`: Redis, API, demo page and workers in one command for a newcomer."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis
from aiohttp import web

from service.core import links
from service.core.moderators import ADMIN, DEVELOPER, Identity
from service.core.settings import Settings
from service.core.signing import Signer
from service.entry.embedded_redis import RedisServer
from service.store import connections, migrations, sessions
from service.web.app import create_app, server_options

log = logging.getLogger(__name__)
# The console's sign-in link: a newcomer opens the workspace in one click, without SMTP. It
# works once, like a mailed one, but for a working day.
DEV_SIGNIN_S = 12 * 3600


def dev_secret(data_dir: Path) -> str:
    """A random secret generated once and kept, so sealed emails stay readable across runs."""
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def run_dev(settings: Settings, host: str, port: int, loop: asyncio.AbstractEventLoop) -> None:
    data_dir = settings.data_dir
    server = None
    if settings.redis_url is None:
        server = RedisServer(data_dir / "redis").start()
        log.info("embedded redis-server %s on %s (AOF in %s)", server.binary, server.url, data_dir)
        # Its own Redis, kept between runs: bring what an earlier version wrote up to date
        # (operators run `comments migrate` themselves; a newcomer should not have to).
        with redis.Redis.from_url(server.url) as conn:
            for applied in migrations.migrate(conn):
                log.info("migrated the dev data to format %d: %s", applied.number, applied.summary)
    settings = settings.with_overrides(
        mode="dev",
        redis_url=settings.redis_url or (server.url if server else None),
        secret_key=settings.secret_key or dev_secret(data_dir),
        public_url=f"http://{host}:{port}",
        allowed_origins=settings.allowed_origins or ("*",),
        moderator_emails=settings.moderator_emails or ("moderator@localhost",),
        outbox_dir=settings.outbox_dir or (None if settings.smtp_url else data_dir / "outbox"),
    ).check()
    assert settings.redis_url
    env = {**os.environ, **settings.to_env()}
    # Own session: a terminal's Ctrl-C reaches only us, and we stop the workers warmly. (RQ
    # takes a second signal as "kill the job now".)
    workers = subprocess.Popen(
        [sys.executable, "-m", "service.entry.cli", "worker", "--processes", "1"],
        env=env,
        start_new_session=True,
    )
    try:
        print(f"\n  Demo article with comments: http://{host}:{port}/", flush=True)
        link = dev_signin_link(settings)
        print(f"  Moderators' workspace (sign-in link, works once): {link}", flush=True)
        if settings.outbox_dir:
            print(f"  Moderator notifications are written to {settings.outbox_dir}/\n", flush=True)
        app = create_app(settings, demo_page=True)
        web.run_app(app, host=host, port=port, loop=loop, print=None, **server_options(settings))
    finally:
        workers.send_signal(signal.SIGTERM)  # warm shutdown: the current job finishes
        try:
            workers.wait(timeout=30)
        except subprocess.TimeoutExpired:
            workers.kill()
        if server is not None:
            server.stop()


def dev_signin_link(settings: Settings) -> str:
    """A one-time link that signs the developer in to the workspace as an admin."""
    conn = connections.sync_client(settings, max_connections=1)
    try:
        who = Identity(DEVELOPER, ADMIN)
        request_id = sessions.open_signin(conn, settings, who, DEV_SIGNIN_S, None)
    finally:
        connections.close(conn)
    signer = Signer(settings.secret_key, settings.old_secret_keys)
    return links.signin_url(signer, settings, request_id, time.time(), DEV_SIGNIN_S)
