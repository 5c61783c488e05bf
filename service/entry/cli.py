"""The `comments` command: one entry point for every process, all sharing one Settings."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable

import redis

from service.core.logs import configure_logging
from service.core.settings import Settings, SettingsError, markdown_table


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # optional: not built for every platform
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="comments", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    api = sub.add_parser("api", help="run the HTTP service")
    api.add_argument("--host", default="0.0.0.0")
    api.add_argument("--port", type=int, default=8080)

    worker = sub.add_parser("worker", help="run RQ workers on the comment queue")
    worker.add_argument("--processes", type=int, default=1, help="supervised worker processes")
    worker.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    worker.add_argument("--worker-class", choices=("simple", "fork"), default="simple")

    dev = sub.add_parser("dev", help="Redis, API, workers and the demo page, for development")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=8080)
    status = sub.add_parser("status", help="queues, workers, failures, oldest undecided comment")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    sub.add_parser("requeue-failed", help="put every failed job back on its queue")
    sub.add_parser("purge-failed", help="delete every failed job")

    sweep = sub.add_parser("sweep", help="re-enqueue comments left undecided (lost jobs)")
    sweep.add_argument("--older-than", type=float, default=None, help="seconds pending")

    priv = sub.add_parser("privacy", help="a commenter's own data, by address (GDPR)")
    priv.add_argument("action", choices=("export", "erase"))
    priv.add_argument("--email", required=True)

    sub.add_parser("settings", help="every COMMENTS_* variable, its default and meaning")

    spam = sub.add_parser("spam", help="train, evaluate and run the spam scorer offline")
    spam.add_argument("action", choices=("train", "eval", "score", "bench", "learn"))
    spam.add_argument("--output", help="train: where to write the model (default: shipped one)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "settings":
        print(markdown_table())
        return 0
    try:
        settings = Settings.from_env()
        # dev checks its own settings; the offline spam commands need no secrets.
        offline = args.command == "spam" and args.action != "learn"
        if args.command != "dev" and not offline:
            settings.check()
    except SettingsError as exc:
        print(f"comments: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, "text" if args.command == "dev" else settings.log_format)
    try:
        return COMMANDS[args.command](args, settings)
    except redis.RedisError as exc:
        print(
            f"comments: Redis is unavailable ({exc.__class__.__name__})",
            file=sys.stderr,
        )
        return 1


# Each command imports what it runs, when it runs: a worker process never loads aiohttp, and
# an operator's `comments status` starts in a fraction of the time the API takes.


def _api(args: argparse.Namespace, settings: Settings) -> int:
    from aiohttp import web

    from service.web.app import create_app, server_limits

    web.run_app(
        create_app(settings),
        host=args.host,
        port=args.port,
        loop=new_event_loop(),
        print=None,
        **server_limits(settings),
    )
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from workers.runner import run_workers

    run_workers(settings, args.processes, args.burst, args.worker_class)
    return 0


def _dev(args: argparse.Namespace, settings: Settings) -> int:
    from service.entry.dev import run_dev

    run_dev(settings, args.host, args.port, new_event_loop())
    return 0


def _operations(args: argparse.Namespace, settings: Settings) -> int:
    from service.queueing import operations

    conn = _connect(settings)
    if args.command == "requeue-failed":
        print(f"requeued {operations.requeue_failed(conn, settings)} failed jobs")
    elif args.command == "purge-failed":
        print(f"deleted {operations.purge_failed(conn, settings)} failed jobs")
    else:
        report = operations.status(conn, settings)
        print(json.dumps(report, indent=None if args.json else 2))
    return 0


def _sweep(args: argparse.Namespace, settings: Settings) -> int:
    from workers.sweep import sweep

    older = settings.sweep_after_s if args.older_than is None else args.older_than
    print(f"re-enqueued {sweep(_connect(settings), settings, time.time(), older)} comments")
    return 0


def _privacy(args: argparse.Namespace, settings: Settings) -> int:
    from service.core.sealing import EmailVault
    from service.core.validation import normalize_email
    from service.store import privacy_data

    try:  # the form intake stored: the same key however the operator typed it
        address = normalize_email(args.email)
    except ValueError as exc:
        print(f"comments: --email: {exc}", file=sys.stderr)
        return 2
    conn = _connect(settings)
    email_hash = EmailVault(settings.secret_key).email_hash(address)
    if args.action == "export":
        print(json.dumps({"comments": privacy_data.export(conn, email_hash)}, indent=2))
    else:
        erased = privacy_data.erase(conn, settings, email_hash)
        print(f"{erased} comments {settings.erase_mode}d; the address is deleted")
    return 0


def _spam(args: argparse.Namespace, settings: Settings) -> int:
    from workers import learning, spam_cli
    from workers.textmodel import TextModel

    if args.action != "learn":
        return spam_cli.main(args.action, args.output)
    replay = learning.replay_examples()
    print(f"learned from {learning.learn(_connect(settings), TextModel.load(), replay)} labels")
    return 0


def _connect(settings: Settings) -> redis.Redis:
    assert settings.redis_url  # check() requires it outside dev
    return redis.Redis.from_url(settings.redis_url)


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "api": _api,
    "worker": _worker,
    "dev": _dev,
    "status": _operations,
    "requeue-failed": _operations,
    "purge-failed": _operations,
    "sweep": _sweep,
    "privacy": _privacy,
    "spam": _spam,
}


if __name__ == "__main__":
    sys.exit(main())
