"""A commenter's own data, by address, for operators answering a request by other means."""

from __future__ import annotations

import argparse
import json
import sys

from service.core.settings import Settings
from service.entry.commands import Command, connect


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("export", "erase"))
    parser.add_argument("--email", required=True)


def _privacy(args: argparse.Namespace, settings: Settings) -> int:
    from service.core.sealing import EmailVault
    from service.core.validation import normalize_email
    from service.store import privacy_data

    try:  # the form intake stored: the same key however the operator typed it
        address = normalize_email(args.email)
    except ValueError as exc:
        print(f"comments: --email: {exc}", file=sys.stderr)
        return 2
    conn = connect(settings)
    email_hash = EmailVault(settings.secret_key).email_hash(address)
    if args.action == "export":
        print(json.dumps({"comments": privacy_data.export(conn, email_hash)}, indent=2))
    else:
        erased = privacy_data.erase(conn, settings, email_hash)
        print(f"{erased} comments {settings.erase_mode}d; the address is deleted")
    return 0


COMMANDS = [Command("privacy", "a commenter's own data, by address (GDPR)", _privacy, _arguments)]
