"""The long-running processes: the API, the workers, and `comments dev` (everything at once)."""

from __future__ import annotations

import argparse
import asyncio

from service.core.settings import Settings
from service.entry.commands import Command


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # optional: not built for every platform
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _api_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument(
        "--processes",
        type=_positive,
        default=1,
        help="API processes on the port (SO_REUSEPORT), supervised: one that dies is restarted",
    )
    # How the supervisor starts each of its processes; not for people.
    parser.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("at least 1")
    return value


def _api(args: argparse.Namespace, settings: Settings) -> int:
    if args.processes > 1:
        from service.entry.api_processes import run_api_processes

        return run_api_processes(args.host, args.port, args.processes)

    from aiohttp import web

    from service.web.app import create_app, server_options, settle_heap

    app = create_app(settings)
    settle_heap()
    web.run_app(
        app,
        host=args.host,
        port=args.port,
        loop=new_event_loop(),
        print=None,
        reuse_port=args.reuse_port or None,
        **server_options(settings),
    )
    return 0


def _worker_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--processes", type=int, default=1, help="supervised worker processes")
    parser.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    parser.add_argument("--worker-class", choices=("simple", "fork"), default="simple")


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from workers.runner import run_workers

    run_workers(settings, args.processes, args.burst, args.worker_class)
    return 0


def _dev_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)


def _dev(args: argparse.Namespace, settings: Settings) -> int:
    from service.entry.dev import run_dev

    run_dev(settings, args.host, args.port, new_event_loop())
    return 0


COMMANDS = [
    Command("api", "run the HTTP service", _api, _api_arguments),
    Command("worker", "run RQ workers on the comment queues", _worker, _worker_arguments),
    # dev checks its own settings (it fills in a secret and a Redis of its own).
    Command(
        "dev",
        "Redis, API, workers and the demo page, for development",
        _dev,
        _dev_arguments,
        checks_settings=False,
    ),
]
