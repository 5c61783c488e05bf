"""What the proof of work costs: the widget's own solver in headless Chromium, the server's
issuing and checking in this process, and a bot's solver (the altcha library) beside them.

Challenges come from `ProofOfWork.issue` with the settings' defaults (or COMMENTS_POW_COST /
COMMENTS_POW_MAX_NUMBER). The solver is the `pow` function cut out of embed-form.js, run in a
Worker made from a Blob as the widget runs it on a news site's page. The reference line in
the same run is a single PBKDF2 derivation of the same cost in the same browser.

    python -m tests.bench.pow [--runs 40]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import time
from importlib import resources
from typing import Any

import altcha
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, async_playwright

from service.core.pow import ProofOfWork
from service.core.settings import Settings

SECRET = "bench-secret-" + "x" * 40
ARTICLE = "bench-article"
PAGE = "<!doctype html><title>pow bench</title><p>bench</p>"
SOLVE_IN_WORKER = """async ([source, challenges]) => {
  const url = URL.createObjectURL(new Blob([`(${source})(self)`], {type: "text/javascript"}));
  const out = [];
  for (const challenge of challenges) {
    const worker = new Worker(url);
    const started = performance.now();
    const solution = await new Promise((resolve) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.postMessage(challenge);
    });
    out.push([performance.now() - started, solution.counter]);
    worker.terminate();
  }
  return out;
}"""
ONE_DERIVATION = """async (cost) => {
  const key = await crypto.subtle.importKey("raw", new Uint8Array(20), "PBKDF2", false,
    ["deriveBits"]);
  const params = {name: "PBKDF2", hash: "SHA-256", salt: new Uint8Array(16), iterations: cost};
  const started = performance.now();
  for (let i = 0; i < 200; i++) await crypto.subtle.deriveBits(params, key, 256);
  return (performance.now() - started) / 200;
}"""


def solver_source() -> str:
    """The widget's solver, as embed-form.js ships it."""
    text = resources.files("service.web").joinpath("static/embed-form.js").read_text()
    found = re.search(r"^function pow\(scope\) \{\n.*?^\}\n", text, re.M | re.S)
    assert found, "embed-form.js has no `function pow(scope)`"
    return found.group(0)


async def in_chromium(challenges: list[dict[str, Any]], cost: int) -> tuple[list[Any], float]:
    async def page_handler(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page_handler)
    async with TestServer(app, host="localhost") as server, async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium",
            headless=True,
            args=["--no-sandbox", "--disable-gpu"],
        )
        page: Page = await browser.new_page()
        await page.goto(str(server.make_url("/")))  # a secure context: WebCrypto is there
        one = await page.evaluate(ONE_DERIVATION, cost)
        solved = await page.evaluate(SOLVE_IN_WORKER, [solver_source(), challenges])
        await browser.close()
    return solved, one


def timed(action: Any, repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        action()
    return (time.perf_counter() - started) / repeat


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    runs = parser.parse_args().runs
    settings = Settings.from_env()
    cost, max_number = settings.pow_cost, settings.pow_max_number
    issuer = ProofOfWork(SECRET)

    def issue() -> dict[str, Any]:
        return issuer.issue(ARTICLE, time.time(), cost=cost, max_number=max_number, max_age_s=3600)

    challenges = [issue() for _ in range(runs)]
    solved, one = asyncio.run(in_chromium(challenges, cost))
    ms = sorted(t for t, _ in solved)
    per_attempt = statistics.mean(t / (counter + 1) for t, counter in solved)

    parsed = altcha.Challenge.from_dict(challenges[0])
    solution = altcha.solve_challenge(parsed)
    assert solution is not None
    payload = altcha.Payload(parsed, solution).to_base64()
    bot = timed(lambda: altcha.solve_challenge(altcha.Challenge.from_dict(issue())), 5)

    print(f"proof of work: PBKDF2-SHA-256, cost {cost} iterations, counter below {max_number}")
    print(f"expected work: {max_number / 2 * cost:,.0f} iterations (max {max_number * cost:,})")
    print()
    print("| | figure |")
    print("|---|---|")
    print(f"| one derivation in Chromium, main thread (reference) | {one:.2f} ms |")
    print(f"| widget solver in a Worker, per attempt | {per_attempt:.2f} ms |")
    print(
        f"| widget solver in a Worker, {runs} challenges | mean {statistics.mean(ms):.0f} ms, "
        f"p50 {ms[len(ms) // 2]:.0f} ms, p90 {ms[int(len(ms) * 0.9)]:.0f} ms, "
        f"max {ms[-1]:.0f} ms |"
    )
    print(f"| bot, altcha's Python solver, one core | {bot * 1000:.0f} ms a comment |")
    print(f"| server: issue a challenge | {timed(issue, 50) * 1000:.2f} ms |")
    check = lambda: issuer.check(payload, True, ARTICLE, time.time())  # noqa: E731
    print(f"| server: check a solution | {timed(check, 200) * 1000:.3f} ms |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
