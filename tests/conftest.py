"""Shared pytest configuration."""

from __future__ import annotations

import shutil
import sys
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


def open_page(browser: Any, path: Path, width: int = 1400,
              ready: str = ".main-svg") -> tuple[Any, dict[str, list[str]]]:
    """A page of `browser` showing the HTML file `path` offline, once every plotly figure holds
    an element `ready`; with what the page did: its uncaught errors ("errors"), console errors
    ("console"), dialogs ("dialogs", each dismissed) and the requests refused ("blocked": every
    request but a file's)."""
    page = browser.new_page(viewport={"width": width, "height": 1000})
    seen: dict[str, list[str]] = {"errors": [], "console": [], "dialogs": [], "blocked": []}
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("console", lambda m: seen["console"].append(m.text) if m.type == "error" else None)

    def dialog(d: Any) -> None:
        seen["dialogs"].append(d.message)
        d.dismiss()

    def route(r: Any) -> None:
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            seen["blocked"].append(r.request.url)
            r.abort()

    page.on("dialog", dialog)
    page.route("**/*", route)
    page.goto(path.resolve().as_uri())
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length > 0 && "
                           "[...document.querySelectorAll('.js-plotly-plot')].every("
                           f"d => d.querySelector('{ready}'))", timeout=30_000)
    return page, seen


def open_offline(browser: Any, page_path: Path, width: int = 1400,
                 ready: str = ".main-svg") -> Any:
    """The page of `open_page`, without what it saw (for callers that check nothing else)."""
    return open_page(browser, page_path, width, ready)[0]


@pytest.fixture
def plot_style() -> Iterator[None]:
    """matplotlib in the house style for the test, and every pyplot figure closed after it.

    Opt-in (``pytestmark = pytest.mark.usefixtures("plot_style")``), not autouse: matplotlib
    is an optional extra, and most tests draw nothing. pyplot is not imported here: the
    figures of `sim.plots` are made without it, so only a test that imported it can have left
    figures open.
    """
    matplotlib = pytest.importorskip("matplotlib")
    from sim.plot_style import STYLE

    with matplotlib.rc_context(STYLE):
        yield
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")
