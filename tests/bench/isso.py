"""Isso, the comparison the intake targets name: installed from PyPI into a venv of its own
(under the benchmark's temporary folder, never the project's), served by gunicorn with two
sync workers as its documentation suggests, with its rate limit ("guard") off, as ours is."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

ISSO = "isso==0.14.*"
GUNICORN = "gunicorn"


class IssoUnavailable(RuntimeError):
    """Isso could not be installed or started here; the benchmark says so and goes on."""


def install(folder: Path) -> Path:
    """A venv with Isso and gunicorn; its bin folder."""
    venv.EnvBuilder(with_pip=True).create(folder)
    bin_dir = folder / "bin"
    done = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", ISSO, GUNICORN],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise IssoUnavailable(f"pip install {ISSO} failed: {done.stderr.strip()[-300:]}")
    return bin_dir


def start(bin_dir: Path, folder: Path, port: int) -> subprocess.Popen[bytes]:
    config = folder / "isso.cfg"
    config.write_text(
        "[general]\n"
        f"dbpath = {folder / 'comments.db'}\n"
        "host = http://127.0.0.1/\n"
        "[guard]\n"
        "enabled = false\n"
        "[server]\n"
        f"listen = http://127.0.0.1:{port}/\n"
    )
    command = [str(bin_dir / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}"]
    with (folder / "isso.log").open("wb") as log:
        return subprocess.Popen(
            [*command, "isso.run:application"],
            env={"ISSO_SETTINGS": str(config), "PATH": str(bin_dir)},
            stdout=log,
            stderr=log,
            start_new_session=True,
        )


if __name__ == "__main__":
    print(install(Path(sys.argv[1])))
