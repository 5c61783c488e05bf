"""The `comments` command: one entry point for every process, all sharing one Settings.

Each area's subcommands live in service/entry/commands/ (see its docstring).
"""

from __future__ import annotations

import argparse
import sys

import redis

from service.core.logs import configure_logging
from service.core.settings import Settings, SettingsError, markdown_table
from service.entry.commands import (
    Command,
    maintenance,
    operations,
    privacy,
    processes,
    spam,
    transfer,
)

AREAS = (processes, operations, maintenance, privacy, spam, transfer)


def commands() -> dict[str, Command]:
    found = {command.name: command for area in AREAS for command in area.COMMANDS}
    return {
        "settings": Command("settings", "every COMMENTS_* variable and its default", _settings)
    } | found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="comments", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for command in commands().values():
        command.arguments(sub.add_parser(command.name, help=command.help))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = commands()[args.command]
    try:
        settings = Settings.from_env()
        if command.checks_settings and command.name != "settings":
            settings.check()
        configure_logging(
            settings.log_level, "text" if command.name == "dev" else settings.log_format
        )
        return command.run(args, settings)
    except SettingsError as exc:
        print(f"comments: configuration error: {exc}", file=sys.stderr)
        return 2
    except redis.RedisError as exc:
        print(f"comments: Redis is unavailable ({exc.__class__.__name__})", file=sys.stderr)
        return 1


def _settings(args: argparse.Namespace, settings: Settings) -> int:
    print(markdown_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
