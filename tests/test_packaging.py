"""The wheel the Docker image installs carries everything the processes read at run time."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_the_wheel_carries_templates_model_training_data_and_widget(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("comments-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = [
        "workers/spam_model.npz",  # without it every worker fails its first job
        "workers/spam_data/sms-spam/SMSSpamCollection.tsv",  # online learning replays it
        "workers/templates/moderation.html",
        "service/web/templates/base.html",
        "service/web/static/embed.js",
        "service/web/demo/article.md",
        "service/web/openapi.json",  # served at /api/v1/openapi.json
    ]
    assert [name for name in expected if name not in names] == []
    sources = {p.relative_to(ROOT).as_posix() for p in (ROOT / "service").rglob("*.html")}
    assert sources <= names  # every page template, however deep
    scripts = {p.relative_to(ROOT).as_posix() for p in (ROOT / "service").rglob("static/*.js")}
    assert "service/web/static/embed-form.js" in scripts
    assert scripts <= names  # embed.js imports the others; without one, its part is missing
