"""Rendering a comment's Markdown to safe HTML, uncached, beside JSON-encoding the same text.

A page renders each comment it shows once per process (then the renderer's cache and the
thread cache answer), so this is the cost a thread change adds per comment. The reference,
measured in the same run, is `json.dumps` of the text: what every comment costs a page anyway.
Hostile shapes are runs of markup characters up to the comment limit (10,000 characters).

    python -m tests.bench.markdown [--runs 50]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable

from service.core import markdown
from tests.helpers import TEXT

LIMIT = 10_000
SHAPES = {
    "typical comment": TEXT,
    "formatted comment": (
        "Some *emphasis*, a [link](https://example.org/a) and https://example.org/b.\n\n"
        "> a quote\n\n- one\n- two\n\n`code` and more words " * 3
    ),
    "10,000 chars of prose": (TEXT + "\n\n") * (LIMIT // (len(TEXT) + 2)),
    **{f"10,000 x {unit!r}": (unit * LIMIT)[:LIMIT] for unit in ("[", "![", "*", "_a", "<", "&#")},
    "deep list (95 levels)": "".join("  " * i + "- x\n" for i in range(95)),
}


def median_us(fn: Callable[[str], object], text: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn(text)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    runs = parser.parse_args().runs
    uncached = markdown._render
    print(f"load average {os.getloadavg()[0]:.2f}; median of {runs} runs, microseconds")
    print(f"{'text':28} {'chars':>6} {'markdown':>10} {'json.dumps':>11} {'ratio':>7}")
    for name, text in SHAPES.items():
        md = median_us(uncached, text, runs)
        ref = median_us(lambda t: json.dumps(t, ensure_ascii=False), text, runs)
        print(f"{name:28} {len(text):>6} {md:>10.1f} {ref:>11.1f} {md / ref:>7.0f}x")


if __name__ == "__main__":
    main()
