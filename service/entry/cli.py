"""The `comments` command: one entry point for every process, all sharing one Settings."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import redis
from aiohttp import web

from service import privacy_data
from service.app import create_app, server_limits
from service.dev import run_dev
from service.logs import configure_logging
from service.privacy import EmailVault
from service.settings import Settings, SettingsError
from workers import learning, operations, spam_cli
from workers.runner import run_workers
from workers.sweep import sweep
from workers.textmodel import TextModel


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

    spam = sub.add_parser("spam", help="train, evaluate and run the spam scorer offline")
    spam.add_argument("action", choices=("train", "eval", "score", "bench", "learn"))
    spam.add_argument("--output", help="train: where to write the model (default: shipped one)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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

    if args.command == "spam" and args.action == "learn":
        assert settings.redis_url
        conn = redis.Redis.from_url(settings.redis_url)
        baseline = TextModel.load()
        print(f"learned from {learning.learn(conn, baseline, learning.replay_examples())} labels")
        return 0
    if args.command == "spam":
        return spam_cli.main(args.action, args.output)
    if args.command in ("status", "requeue-failed", "purge-failed"):
        assert settings.redis_url
        conn = redis.Redis.from_url(settings.redis_url)
        if args.command == "requeue-failed":
            print(f"requeued {operations.requeue_failed(conn, settings)} failed jobs")
        elif args.command == "purge-failed":
            print(f"deleted {operations.purge_failed(conn, settings)} failed jobs")
        else:
            report = operations.status(conn, settings)
            print(json.dumps(report, indent=None if args.json else 2))
        return 0
    if args.command == "sweep":
        assert settings.redis_url
        conn = redis.Redis.from_url(settings.redis_url)
        older = settings.sweep_after_s if args.older_than is None else args.older_than
        print(f"re-enqueued {sweep(conn, settings, time.time(), older)} comments")
        return 0
    if args.command == "privacy":
        assert settings.redis_url
        conn = redis.Redis.from_url(settings.redis_url)
        email_hash = EmailVault(settings.secret_key).email_hash(args.email)
        if args.action == "export":
            print(json.dumps({"comments": privacy_data.export(conn, email_hash)}, indent=2))
        else:
            erased = privacy_data.erase(conn, email_hash, settings.erase_mode)
            print(f"{erased} comments {settings.erase_mode}d; the address is deleted")
        return 0
    if args.command == "api":
        app = create_app(settings)
        web.run_app(
            app,
            host=args.host,
            port=args.port,
            loop=new_event_loop(),
            print=None,
            **server_limits(settings),
        )
    elif args.command == "worker":
        run_workers(settings, args.processes, args.burst, args.worker_class)
    else:
        run_dev(settings, args.host, args.port, new_event_loop())
    return 0


if __name__ == "__main__":
    sys.exit(main())
