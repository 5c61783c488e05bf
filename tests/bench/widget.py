"""The widget's first paint: how long a news page takes, in headless Chromium with a cold cache,
from navigation to the thread's heading ("20 comments"), and what it downloads for it.

The reference, measured in the same run on the same pages and servers, is a few lines of
inline script that fetch the same first page and write the same heading: the part of the time
that is the network, the API and the browser, not the widget. A German reader's widget also
imports its catalogue (beside the first page, not after it).

With `--previous FILE` (an older embed.js, e.g. `git show <rev>:service/web/static/embed.js`)
that widget is measured beside, served from the news site and calling the same API.

    python -m tests.bench.widget [--runs 15] [--comments 20] [--previous FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
from pathlib import Path

import aiohttp
import redis
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, async_playwright

from service.core.settings import Settings
from service.entry.embedded_redis import RedisServer, free_port
from service.store import migrations, moderation
from service.web.app import create_app
from service.web.assets import Widget
from tests.helpers import make_settings

ARTICLE = "bench-widget"
# Notes the moment the heading shows, in the widget's shadow root or in the page.
PROBE = """
const seen = () => {
  const host = document.getElementById("comments");
  const h2 = host && (host.shadowRoot || host).querySelector("h2");
  if (h2 && /^\\d/.test(h2.textContent)) window.__shown = performance.now();
  else requestAnimationFrame(seen);
};
requestAnimationFrame(seen);
"""
REFERENCE = """<script>
fetch("{api}/api/v1/comments?article={article}&limit=20&sort=oldest")
  .then((r) => r.json())
  .then((d) => {{
    const h2 = document.createElement("h2");
    h2.textContent = d.count + " comments";
    document.getElementById("comments").append(h2);
  }});
</script>"""


def page(body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bench</title>'
        f'</head><body><h1>An article</h1><div id="comments"></div>{body}</body></html>'
    )


async def seed(api: str, conn: redis.Redis, settings: Settings, count: int) -> None:
    async with aiohttp.ClientSession() as http:
        for n in range(count):
            body = {
                "article": ARTICLE,
                "name": f"Reader {n}",
                "email": f"reader{n}@example.org",
                "comment": f"Comment number {n}, a few sentences long. " * 4,
            }
            async with http.post(f"{api}/api/v1/comments", json=body) as resp:
                comment_id = (await resp.json())["id"]
            await asyncio.to_thread(
                moderation.apply, conn, settings, comment_id, "approve", "bench"
            )


async def first_paint(browser: Browser, url: str) -> float:
    context = await browser.new_context()  # a cold cache every time
    try:
        tab = await context.new_page()
        await tab.add_init_script(PROBE)
        await tab.goto(url)
        await tab.wait_for_function("window.__shown !== undefined", timeout=30_000)
        shown: float = await tab.evaluate("window.__shown")
        return shown
    finally:
        await context.close()


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[max(int(len(ordered) * 0.9) - 1, 0)]
    return f"median {statistics.median(ordered):6.1f} ms   p90 {p90:6.1f} ms"


async def run(redis_url: str, runs: int, comments: int, previous: bytes | None) -> None:
    site_port = free_port()
    origin = f"http://localhost:{site_port}"
    settings = make_settings(redis_url, allowed_origins=(origin,))
    conn = redis.Redis.from_url(redis_url)
    conn.flushall()
    migrations.migrate(conn)
    api_server = TestServer(create_app(settings), host="127.0.0.1", port=free_port())
    await api_server.start_server()
    api = str(api_server.make_url("")).rstrip("/")
    await seed(api, conn, settings, comments)
    script = f'<script src="{api}/embed.js" data-article="{ARTICLE}" {{}} async></script>'
    pages = {
        "/reference": page(REFERENCE.format(api=api, article=ARTICLE)),
        "/en": page(script.format("")),
        "/de": page(script.format('data-lang="de"')),
    }
    if previous is not None:
        old = (
            f'<script src="/previous.js" data-api="{api}" data-article="{ARTICLE}" async></script>'
        )
        pages["/previous"] = page(old)

    async def handler(request: web.Request) -> web.Response:
        if request.path == "/previous.js" and previous is not None:
            return web.Response(body=previous, content_type="text/javascript")
        if request.path not in pages:
            raise web.HTTPNotFound()  # the browser's /favicon.ico
        return web.Response(text=pages[request.path], content_type="text/html")

    news = web.Application()
    news.router.add_get("/{name}", handler)
    site = TestServer(news, host="localhost", port=site_port)
    await site.start_server()
    widget = Widget.load()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium",
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        samples: dict[str, list[float]] = {path: [] for path in pages}
        await first_paint(browser, origin + "/en")  # warm the servers, not the browser
        for _ in range(runs):  # interleaved: load that comes and goes hits all alike
            for path in pages:
                samples[path].append(await first_paint(browser, origin + path))
        await browser.close()
    await site.close()
    await api_server.close()
    conn.close()

    de = widget.parts["de"]
    print(f"first paint of a {comments}-comment thread, {runs} cold loads each, Chromium")
    print(f"  {'reference: fetch + write heading':<38} {summary(samples['/reference'])}")
    print(f"  {'widget, English':<38} {summary(samples['/en'])}")
    print(f"  {'widget, German (+ its catalogue)':<38} {summary(samples['/de'])}")
    if previous is not None:
        print(f"  {'previous widget (--previous), English':<38} {summary(samples['/previous'])}")
    ref = statistics.median(samples["/reference"])
    print(
        f"  widget's own share (median, English): {statistics.median(samples['/en']) - ref:.1f} ms"
    )
    print("bytes before the heading, gzipped:")
    print(f"  embed.js {len(widget.embed.gzipped):,} (German adds {len(de.gzipped):,})")
    later = {name: len(a.gzipped) for name, a in widget.parts.items() if name in ("live", "form")}
    print(f"  after it, on demand: {', '.join(f'{k} {v:,}' for k, v in later.items())}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--comments", type=int, default=20)
    parser.add_argument("--previous", type=Path, help="an older embed.js to measure beside")
    args = parser.parse_args()
    previous = args.previous.read_bytes() if args.previous else None
    with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp) / "redis") as server:
        asyncio.run(run(server.url, args.runs, args.comments, previous))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
