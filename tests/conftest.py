"""Shared pytest configuration."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: opens the HTML report in headless Chromium (skipped without "
        "chromium and playwright)")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium through playwright (Debian's chromium: .ci/run installs it)."""
    exe = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")
    if exe is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_offline(browser: Any, page_path: Path, width: int = 1400,
                 ready: str = ".main-svg") -> Any:
    """A page of `browser` showing the HTML file `page_path` offline (every request but a
    file's is refused), once every plotly figure holds an element `ready`."""
    page = browser.new_page(viewport={"width": width, "height": 1000})
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://")
               else r.abort())
    page.goto(page_path.resolve().as_uri())
    page.wait_for_function("[...document.querySelectorAll('.js-plotly-plot')].every("
                           f"d => d.querySelector('{ready}'))", timeout=30_000)
    return page
