"""The ceiling: an aiohttp handler that only reads the body and answers 202."""

from __future__ import annotations

import argparse

from aiohttp import web

from service.entry.commands.processes import new_event_loop


async def accept(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({"id": "0", "status": "pending"}, status=202)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_post("/api/v1/comments", accept)
    web.run_app(
        app, host="127.0.0.1", port=args.port, loop=new_event_loop(), access_log=None, print=None
    )


if __name__ == "__main__":
    main()
