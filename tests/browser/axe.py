"""The accessibility audit: axe-core (from axe-playwright-python) run in the page under test.

The standard asks for no serious or critical violations; minor and moderate ones are reported by
axe too but are not failures here."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.async_playwright import Axe  # type: ignore[import-untyped]
from playwright.async_api import Page

_AXE = Axe()
BLOCKING = {"serious", "critical"}


async def serious_violations(page: Page, context: Any = None) -> list[str]:
    """One line per serious or critical violation on the page as it is now (empty when clean).

    `context` is axe's: a selector, or {"include": [...], "exclude": [...]}."""
    results = await _AXE.run(page, context=context)
    return [
        f"{v['impact']}: {v['id']}: {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:5])
        for v in results.response["violations"]
        if v.get("impact") in BLOCKING
    ]
