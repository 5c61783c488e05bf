"""Moving in and out: `comments import` from another comment system, `comments export`."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from service.core.settings import Settings
from service.entry.commands import Command, connect

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from service.store.imports import Summary

log = logging.getLogger(__name__)
# Log lines are for a human reading a log: one every few seconds is enough.
LOG_EVERY_S = 5.0

# service.core.formats.READERS, named here so that building the parser loads no XML library.
SOURCES = ("wordpress", "disqus", "isso", "remark42")
FORMATS = ("jsonl", "wxr")


def _import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", choices=SOURCES, help="the system the file comes from")
    parser.add_argument(
        "file",
        type=Path,
        help="WordPress: the WXR file; Disqus: the XML export; Isso: its SQLite database; "
        "Remark42: a backup (.gz or plain)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="read and check the file, write nothing"
    )
    parser.add_argument(
        "--site",
        help="the site's URL, for pages the file names by path only (Isso): https://example.org",
    )


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from service.core.formats.model import FormatError
    from service.core.redaction import redact
    from service.store import imports, migrations

    if args.site is not None and not args.site.startswith(("http://", "https://")):
        print("comments: --site must be an http(s) URL", file=sys.stderr)
        return 2
    request = imports.Request(args.source, args.file, args.site, args.dry_run)
    conn = None if args.dry_run else connect(settings)
    if conn is not None:
        try:  # an import into an empty Redis marks its format, as a fresh start does
            migrations.ensure_readable(conn)
        except migrations.DataFormatError as refused:
            print(f"comments: {refused}", file=sys.stderr)
            return int(refused.code or 1)
    try:
        with reporter(f"import {args.source}") as progress:
            summary = imports.run(conn, settings, request, progress)
    except FormatError as exc:
        # A parser's message may quote a name from the file: no address gets through.
        print(f"comments: {args.file}: {redact(str(exc))}; nothing was imported", file=sys.stderr)
        return 1
    except imports.ImportStopped as stopped:
        print(describe(stopped.summary))
        print(
            f"comments: stopped while writing the comments of {stopped.summary.stopped_at} "
            f"(Redis: {stopped.cause.__class__.__name__}). The {stopped.summary.threads:,} "
            "threads before it are written; run the same command again to go on: what is "
            "written is skipped.",
            file=sys.stderr,
        )
        return 1
    print(describe(summary))
    return 0


def describe(summary: Summary) -> str:
    """The closing summary, for people."""
    from service.core.formats import NAMES

    def counts(values: dict[str, int]) -> str:
        return ", ".join(f"{name} {n:,}" for name, n in sorted(values.items())) or "none"

    rate = summary.read / summary.seconds if summary.seconds else 0.0
    verb = "Would import" if summary.dry_run else "Imported"
    rows = [
        f"{verb} from {NAMES[summary.source]} in {summary.seconds:.1f} s ({rate:,.0f} comments/s)",
        f"  threads          {summary.threads:,}",
        f"  comments read    {summary.read:,}",
        f"  {'to add' if summary.dry_run else 'added':<16} {counts(dict(summary.added))}",
    ]
    if not summary.dry_run:
        rows.append(f"  already there    {summary.present:,}")
    rows += [
        f"  orphans          {summary.orphans:,} (their parent is not imported: top level)",
        f"  skipped          {counts(dict(summary.skipped))}",
    ]
    if summary.dry_run:
        rows.append("  (a dry run reads and checks the file; it does not look at what is stored)")
    return "\n".join(rows)


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="jsonl")
    parser.add_argument(
        "--article", action="append", default=[], help="only this article (repeatable)"
    )
    parser.add_argument("--output", type=Path, help="write to this file (default: stdout)")
    parser.add_argument(
        "--include-emails",
        action="store_true",
        help="add commenters' addresses, in clear, to the --output file (for moving to "
        "another system; never to stdout)",
    )


def _export(args: argparse.Namespace, settings: Settings) -> int:
    from service.core.formats import export_jsonl, export_wxr
    from service.core.formats.model import ArticleComments
    from service.core.sealing import EmailVault
    from service.store import exports

    if args.include_emails and args.output is None:
        print(
            "comments: --include-emails writes addresses only to a file: give --output FILE",
            file=sys.stderr,
        )
        return 2
    vault = EmailVault(settings.secret_key) if args.include_emails else None
    articles = exports.articles(connect(settings), args.article, vault)
    with reporter("export") as progress, _destination(args.output, args.include_emails) as out:
        progress.start("exporting", None)

        def counted() -> Iterator[ArticleComments]:
            for article in articles:
                progress.advance(len(article.comments))
                yield article

        if args.format == "wxr":
            written = export_wxr.write(out, settings.public_url, counted())
        else:
            written = 0
            for article in counted():
                out.write("".join(export_jsonl.lines(article)).encode())
                written += len(article.comments)
    where = args.output or "stdout"
    if args.include_emails:
        print(
            f"exported {written:,} comments to {where} WITH commenters' email addresses in "
            "clear: keep the file private (it is readable by you only) and delete it after "
            "the move",
            file=sys.stderr,
        )
    else:
        print(f"exported {written:,} comments to {where} (no email addresses)", file=sys.stderr)
    return 0


@contextlib.contextmanager
def _destination(path: Path | None, private: bool) -> Iterator[BinaryIO]:
    """stdout, or the file: written beside it and renamed when complete, so a failed export
    leaves no half file; readable by the owner only when it holds addresses."""
    if path is None:
        yield sys.stdout.buffer
        sys.stdout.flush()
        return
    partial = path.with_name(path.name + ".partial")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(partial, flags, 0o600 if private else 0o644)
    if private:
        os.fchmod(fd, 0o600)  # an old partial file keeps its mode otherwise
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


# --- progress: a bar on a terminal, log lines otherwise ----------------------------------------


class BarProgress:
    """A rich progress bar on stderr: counts, rate, elapsed time."""

    def __init__(self, bar: Progress) -> None:
        self._bar = bar
        self._task: TaskID | None = None

    def start(self, phase: str, total: int | None) -> None:
        if self._task is not None:  # the phase before is complete: a full bar
            done = self._bar.tasks[-1].completed
            self._bar.update(self._task, total=done, completed=done)
            self._bar.stop_task(self._task)
        self._task = self._bar.add_task(phase, total=total)

    def advance(self, comments: int) -> None:
        if self._task is not None:
            self._bar.advance(self._task, comments)


class LogProgress:
    """Plain log lines: the phase, the count so far and the rate, every few seconds."""

    def __init__(self, what: str) -> None:
        self._what, self._phase = what, ""
        self._total: int | None = None
        self._done, self._started, self._said = 0, time.monotonic(), 0.0

    def start(self, phase: str, total: int | None) -> None:
        if self._phase:
            self._say()
        self._phase, self._total, self._done = phase, total, 0
        self._started = self._said = time.monotonic()

    def advance(self, comments: int) -> None:
        self._done += comments
        if time.monotonic() - self._said >= LOG_EVERY_S:
            self._say()

    def finish(self) -> None:
        if self._phase:
            self._say()

    def _say(self) -> None:
        now = time.monotonic()
        self._said = now
        rate = self._done / max(now - self._started, 1e-9)
        total = f" of {self._total:,}" if self._total is not None else ""
        log.info(
            "%s, %s: %s%s comments, %s/s",
            self._what,
            self._phase,
            f"{self._done:,}",
            total,
            f"{rate:,.0f}",
        )


@contextlib.contextmanager
def reporter(what: str) -> Iterator[BarProgress | LogProgress]:
    if not sys.stderr.isatty():
        plain = LogProgress(what)
        yield plain
        plain.finish()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        Task,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: Task) -> Text:
            elapsed = task.elapsed or 0.0
            rate = task.speed or (task.completed / elapsed if elapsed else 0.0)
            return Text(f"{rate:,.0f} comments/s", style="progress.data.speed")

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        Rate(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        yield BarProgress(bar)


COMMANDS = [
    Command(
        "import",
        "import comments from WordPress, Disqus, Isso or Remark42 (safe to run again)",
        _import,
        _import_arguments,
    ),
    Command("export", "every comment as JSON lines or WordPress WXR", _export, _export_arguments),
]
