"""Operators' commands on the queues: status, failed jobs, the sweep."""

from __future__ import annotations

import argparse
import json
import time

from service.core.settings import Settings
from service.entry.commands import Command, connect


def _status_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _status(args: argparse.Namespace, settings: Settings) -> int:
    from service.queueing import operations

    report = operations.status(connect(settings), settings)
    print(json.dumps(report, indent=None if args.json else 2))
    return 0


def _requeue(args: argparse.Namespace, settings: Settings) -> int:
    from service.queueing import operations

    print(f"requeued {operations.requeue_failed(connect(settings), settings)} failed jobs")
    return 0


def _purge(args: argparse.Namespace, settings: Settings) -> int:
    from service.queueing import operations

    print(f"deleted {operations.purge_failed(connect(settings), settings)} failed jobs")
    return 0


def _sweep_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--older-than", type=float, default=None, help="seconds pending")


def _sweep(args: argparse.Namespace, settings: Settings) -> int:
    from workers.sweep import sweep

    older = settings.sweep_after_s if args.older_than is None else args.older_than
    print(f"re-enqueued {sweep(connect(settings), settings, time.time(), older)} comments")
    return 0


COMMANDS = [
    Command(
        "status",
        "queues, workers, failures, oldest undecided comment",
        _status,
        _status_arguments,
    ),
    Command("requeue-failed", "put every failed job back on its queue", _requeue),
    Command("purge-failed", "delete every failed job (and its stored result)", _purge),
    Command("sweep", "re-enqueue comments left undecided (lost jobs)", _sweep, _sweep_arguments),
]
