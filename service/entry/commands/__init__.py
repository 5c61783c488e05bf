"""The `comments` subcommands, one module per area; each module lists its COMMANDS.

A command imports what it runs inside `run`, when it runs: a worker process never loads
aiohttp, and an operator's `comments status` starts in a fraction of the time the API takes.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

import redis

from service.core.settings import Settings
from service.store import connections


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    help: str
    run: Callable[[argparse.Namespace, Settings], int]
    arguments: Callable[[argparse.ArgumentParser], None] = lambda parser: None
    # Offline commands (training, scoring files) need no secret and no Redis.
    checks_settings: bool = True


def connect(settings: Settings) -> redis.Redis:
    """The synchronous client an operator command uses (a redis+sentinel:// URL reaches the
    current primary)."""
    return connections.sync_client(settings)
