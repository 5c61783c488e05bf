"""`make bench`: importing a 100,000-comment WordPress export, and exporting it again.

Generates a WXR file (2,000 posts of 50 comments: replies three deep, every status, pingbacks,
HTML, unicode, 5,000 distinct commenters), starts a real redis-server (AOF, fsync every
second) and runs `comments import wordpress FILE` as its own process: wall time, rate and the
process's peak RSS (targets: <= 60 s, <= 200 MB). Then `comments export` in both formats to
files. References measured in the same run: lxml reading the same file with nothing else
done, and Redis taking the same number of comment-sized hashes in pipelined MULTIs, which
together bound what an import can reach.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from xml.sax.saxutils import escape

import redis
from lxml import etree

from service.entry.embedded_redis import RedisServer
from tests.bench.intake import bench_env

POSTS, PER_POST = 2000, 50
TEXTS = [
    "Sharing the landers makes <strong>sense</strong>: they cost a fortune.\n\nSecond thought.",
    'A reply with a <a href="https://example.org/source">source</a> &amp; an ampersand.',
    "月面基地は素晴らしい 🚀, and Zoë agrees: <blockquote>quoted words</blockquote>",
    "Plain words about the launch window, long enough to be a real comment on a news story.",
]
STATUSES = ["1"] * 16 + ["0", "spam", "trash", "post-trashed"]


def generate(path: Path, posts: int = POSTS, per_post: int = PER_POST) -> int:
    """Write the WXR file; the number of comments in it."""
    number = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8" ?>\n<rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:wp="http://wordpress.org/export/1.2/">\n<channel>\n'
            "<title>Bench</title><wp:wxr_version>1.2</wp:wxr_version>\n"
        )
        for post in range(1, posts + 1):
            out.write(
                f"<item><title>Story {post}</title>"
                f"<link>https://news.example.org/{2020 + post % 5}/story-{post}</link>"
                f"<wp:post_id>{post}</wp:post_id><wp:post_type>post</wp:post_type>\n"
            )
            first = number + 1
            for i in range(per_post):
                number += 1
                parent = 0 if i % 3 == 0 else first + (i // 3) * 3
                kind = "pingback" if i == per_post - 1 else "comment"
                who = number % 5000
                stamp = time.gmtime(1_600_000_000 + number * 60)
                date = time.strftime("%Y-%m-%d %H:%M:%S", stamp)
                out.write(
                    "<wp:comment>"
                    f"<wp:comment_id>{number}</wp:comment_id>"
                    f"<wp:comment_author><![CDATA[Reader {who} Ölund]]></wp:comment_author>"
                    f"<wp:comment_author_email>reader{who}@bench.example</wp:comment_author_email>"
                    f"<wp:comment_author_url>https://reader{who}.example/</wp:comment_author_url>"
                    f"<wp:comment_author_IP>192.0.2.{who % 250}</wp:comment_author_IP>"
                    f"<wp:comment_date>{date}</wp:comment_date>"
                    f"<wp:comment_date_gmt>{date}</wp:comment_date_gmt>"
                    f"<wp:comment_content>{escape(TEXTS[number % 4])}</wp:comment_content>"
                    f"<wp:comment_approved>{STATUSES[number % 20]}</wp:comment_approved>"
                    f"<wp:comment_type>{kind}</wp:comment_type>"
                    f"<wp:comment_parent>{parent}</wp:comment_parent>"
                    "</wp:comment>\n"
                )
            out.write("</item>\n")
        out.write("</channel>\n</rss>\n")
    return number


def parse_only(path: Path) -> float:
    """Reference: lxml reading the file and nothing else, in seconds."""
    started = time.perf_counter()
    for _, element in etree.iterparse(str(path), events=("end",), tag="item"):
        element.clear()
    return time.perf_counter() - started


def redis_only(url: str, n: int) -> float:
    """Reference: n comment-sized hashes written in MULTIs of 50, in seconds."""
    conn = redis.Redis.from_url(url)
    record = {f"field{i}": "x" * 40 for i in range(14)}
    started = time.perf_counter()
    for start in range(0, n, 50):
        with conn.pipeline(transaction=True) as pipe:
            for i in range(start, min(n, start + 50)):
                pipe.hset(f"bench:{i}", mapping=record)  # type: ignore[arg-type]
            pipe.execute()
    seconds = time.perf_counter() - started
    for batch in range(0, n, 10_000):
        conn.delete(*(f"bench:{i}" for i in range(batch, min(n, batch + 10_000))))
    conn.close()
    return seconds


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (the process's own: other load on the machine slows the
    wall clock, not this) and the standard output of one command."""
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=POSTS)
    args = parser.parse_args()
    cli = [sys.executable, "-m", "service.entry.cli"]
    with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp) / "redis") as server:
        env = {**bench_env(server.url), "COMMENTS_RETENTION_DAYS": "36500"}
        wxr = Path(tmp) / "export.xml"
        n = generate(wxr, args.posts)
        size_mb = wxr.stat().st_size / 1e6
        parse_s = parse_only(wxr)
        redis_s = redis_only(server.url, n)

        import_s, import_cpu, summary = timed([*cli, "import", "wordpress", str(wxr)], env)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        again_s, again_cpu, _ = timed([*cli, "import", "wordpress", str(wxr)], env)
        stored = sum(1 for _ in redis.Redis.from_url(server.url).scan_iter("cm:*:c:*", 10_000))
        exports: dict[str, tuple[float, float]] = {}
        for fmt in ("jsonl", "wxr"):
            out = Path(tmp) / f"out.{fmt}"
            exports[fmt] = timed([*cli, "export", "--format", fmt, "--output", str(out)], env)[:2]

    def row(
        what: str, seconds: float, count: int, cpu: float | None = None, target: str = ""
    ) -> None:
        used = f"{cpu:.1f}" if cpu is not None else ""
        print(f"| {what} | {seconds:.1f} | {used} | {count / seconds:,.0f} | {target} |")

    print(f"WXR file: {n:,} comments in {args.posts:,} posts, {size_mb:.1f} MB\n")
    print(summary.rstrip() + "\n")
    print("| | seconds | CPU seconds | comments/s | target |\n|---|---|---|---|---|")
    row("lxml reading the file alone (reference)", parse_s, n)
    row(f"Redis, {n:,} hashes in MULTIs of 50 (reference)", redis_s, n)
    row("`comments import wordpress`", import_s, n, import_cpu, "<= 60 s")
    row("the same import again (adds nothing)", again_s, n, again_cpu)
    for fmt, (seconds, cpu) in exports.items():
        row(f"`comments export --format {fmt}` ({stored:,} stored)", seconds, stored, cpu)
    print(f"\nload average while it ran: {os.getloadavg()[0]:.1f} (2 cores)")
    # The import is the first child process this one waits for: the peak is its own.
    print(f"\nimport peak RSS: {peak_mb:.0f} MB (target <= 200 MB)")
    return 0 if import_s <= 60 and peak_mb <= 200 else 1


if __name__ == "__main__":
    sys.exit(main())
