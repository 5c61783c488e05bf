"""The spam scorer: train, evaluate, score files and time it offline; `learn` online."""

from __future__ import annotations

import argparse

from service.core.settings import Settings
from service.entry.commands import Command, connect


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("train", "eval", "score", "bench", "learn"))
    parser.add_argument("--output", help="train: where to write the model (default: shipped one)")


def _spam(args: argparse.Namespace, settings: Settings) -> int:
    if args.action != "learn":  # offline: no secret, no Redis
        from workers import spam_cli

        return spam_cli.main(args.action, args.output)
    from workers import learning
    from workers.textmodel import TextModel

    settings.check()
    replay = learning.replay_examples()
    print(f"learned from {learning.learn(connect(settings), TextModel.load(), replay)} labels")
    return 0


COMMANDS = [
    Command(
        "spam",
        "train, evaluate and run the spam scorer offline; learn from moderators online",
        _spam,
        _arguments,
        checks_settings=False,
    ),
]
