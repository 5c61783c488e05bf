"""`comments api --processes N`: N API processes on one port, supervised.

One API process is bound to one core (Python runs its handlers one at a time). Each child is
an ordinary `comments api` process that binds the port with SO_REUSEPORT, so the kernel spreads
new connections over them and no process hands sockets to another. The supervisor only watches:

- a child that dies is started again (after a back-off if it keeps dying at once: a port
  taken by another program, or a broken configuration, must not become a busy loop; after
  MAX_QUICK_DEATHS such deaths in a row the supervisor gives up and exits 1);
- SIGTERM or SIGINT is passed on as SIGTERM to every child, each shuts down warmly (stops
  accepting, finishes its requests in flight, writes every accepted comment), and the
  supervisor exits once all have, 0 if all exited cleanly.

Children run in their own session, so a terminal's Ctrl-C reaches only the supervisor and
each child gets exactly one signal (a second SIGTERM would cut aiohttp's warm shutdown short).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from types import FrameType

from service.store.migrations import DataFormatError

log = logging.getLogger(__name__)

# A child that dies sooner than this after its start counts as a quick death.
QUICK_DEATH_S = 5.0
MAX_QUICK_DEATHS = 5
# Exit codes of a process that refuses to run at all (configuration, data format): starting it
# again cannot help, so the supervisor stops and exits with the same code.
REFUSALS = frozenset({2, DataFormatError.NEEDS_MIGRATION, DataFormatError.TOO_NEW})
MAX_BACKOFF_S = 30.0
POLL_S = 0.1
# aiohttp's own shutdown timeout (web.run_app) plus the intake writer's last batch.
SHUTDOWN_GRACE_S = 70.0


@dataclass
class _Child:
    slot: int
    process: subprocess.Popen[bytes]
    started: float


class Supervisor:
    """Runs `command` (one API process) `count` times and keeps it so until told to stop."""

    def __init__(self, command: list[str], count: int, env: dict[str, str] | None = None) -> None:
        self.command, self.count, self.env = command, count, env
        self.children: dict[int, _Child] = {}
        self.stopping = False
        self.quick_deaths = 0
        self.backoff_s = 0.0
        self.due: dict[int, float] = {}  # slot -> when to start it again
        self.refused: int | None = None

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            for slot in range(self.count):
                self._start(slot)
            while not self.stopping:
                self._reap()
                if self.refused is not None:
                    log.error("an API process refused to start (exit %d); stopping", self.refused)
                    self._stop_children()
                    return self.refused
                if self.quick_deaths >= MAX_QUICK_DEATHS:
                    log.error("API processes keep dying at start; giving up")
                    self._stop_children()
                    return 1
                self._restart_due()
                time.sleep(POLL_S)
            return self._stop_children()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def pids(self) -> list[int]:
        return [child.process.pid for child in self.children.values()]

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def _start(self, slot: int) -> None:
        process = subprocess.Popen(self.command, env=self.env, start_new_session=True)
        self.children[slot] = _Child(slot, process, time.monotonic())
        log.info("API process %d started (pid %d)", slot, process.pid)

    def _reap(self) -> None:
        now = time.monotonic()
        for slot, child in list(self.children.items()):
            code = child.process.poll()
            if code is None:
                continue
            del self.children[slot]
            if code in REFUSALS:
                self.refused = code
                return
            lived = now - child.started
            log.warning(
                "API process %d (pid %d) exited with %s after %.1f s; starting another",
                slot,
                child.process.pid,
                _describe(code),
                lived,
            )
            if lived < QUICK_DEATH_S:
                self.quick_deaths += 1
                self.backoff_s = min(MAX_BACKOFF_S, max(0.5, self.backoff_s * 2))
            else:
                self.quick_deaths, self.backoff_s = 0, 0.0
            self.due[slot] = now + self.backoff_s

    def _restart_due(self) -> None:
        now = time.monotonic()
        for slot, when in list(self.due.items()):
            if when <= now:
                del self.due[slot]
                self._start(slot)

    def _stop_children(self) -> int:
        """SIGTERM to each child, then wait for all; 0 if every one exited cleanly."""
        for child in self.children.values():
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + SHUTDOWN_GRACE_S
        status = 0
        for child in self.children.values():
            try:
                code = child.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("API process %d did not stop in time; killing it", child.slot)
                child.process.kill()
                code = child.process.wait()
            # Killed by the signal itself: it was still starting, before it could serve.
            status = status or (0 if code in (0, -signal.SIGTERM) else 1)
        return status


def _describe(code: int) -> str:
    if code < 0:
        return f"signal {signal.Signals(-code).name}"
    return f"status {code}"


def run_api_processes(host: str, port: int, count: int) -> int:
    """The supervisor of `count` `comments api` processes sharing host:port."""
    command = [sys.executable, "-m", "service.entry.cli", "api", "--host", host]
    command += ["--port", str(port), "--reuse-port"]
    log.info("starting %d API processes on %s:%d (pid %d)", count, host, port, os.getpid())
    return Supervisor(command, count).run()
