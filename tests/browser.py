"""A page opened in real headless Chromium (Debian's package, driven by Playwright): console
errors, every request the page made, a screenshot, and what the DOM shows."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# As this machine's closed network needs: no background connections, no sandbox as root.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@dataclass
class Opened:
    url: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dom: dict[str, Any] = field(default_factory=dict)


def open_page(path: Path, screenshot: Path, script: str) -> Opened:
    """Load `path` (file://), save a full-page screenshot, and return what `script` (a JS function
    of no arguments, evaluated in the page) gives, with the console errors and requests."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed: run `make setup` (it installs the Debian package chromium)")
    opened = Opened(path.resolve().as_uri())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: opened.errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: opened.errors.append(str(e)))
            page.on("request", lambda r: opened.requests.append(r.url))
            page.goto(opened.url, wait_until="load")
            page.screenshot(path=str(screenshot), full_page=True)
            opened.dom = page.evaluate(script)
        finally:
            browser.close()
    return opened
