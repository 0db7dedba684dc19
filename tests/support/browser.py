"""Headless Debian chromium driven by Playwright, as the console's browser tests need it.

Playwright's own browser downloads are never used: ``./dev setup`` installs
Debian's ``chromium`` and this launches it by path, with everything that would
reach beyond loopback switched off. Playwright gives every launch a fresh
temporary user-data-dir of its own (it refuses a ``--user-data-dir`` argument).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    found = shutil.which("chromium") or CHROMIUM
    if not Path(found).exists():
        raise AssertionError("chromium not found: run ./dev setup (installs Debian's chromium)")
    return found


@contextmanager
def chromium() -> Iterator[Browser]:
    """A browser on a fresh profile; each test opens its own context."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
