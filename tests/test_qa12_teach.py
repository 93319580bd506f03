"""QA pass 12 (a teacher showing a class what a ban does; an analyst comparing arms).

Each test names the defect it keeps fixed. The runs are iran-2021 (whose last source event, in
late December, is a few days before the run's end) and china-2021 (many events), each one run;
"arms" are that run twice over, one arm's flows changed so that its own order differs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import sim
from sim.plot_style import STYLE
from sim.plots import RunData

matplotlib = pytest.importorskip("matplotlib")
pytest.importorskip("plotly")


@pytest.fixture(scope="module")
def iran() -> RunData:
    return RunData.from_results(sim.run(sim.load("iran-2021"), seed=1))


@pytest.fixture(scope="module")
def china() -> RunData:
    return RunData.from_results(sim.run(sim.load("china-2021"), seed=1))


@pytest.fixture(autouse=True)
def style() -> Iterator[None]:
    with matplotlib.rc_context(STYLE):
        yield


def two_arms(data: RunData, shrink: str | None = None) -> RunData:
    """`data` as arms "ban" and "other"; in "other" the flows to `shrink` are a fifth as many
    (so that destination drops to last in that arm's own order)."""
    tables = {}
    for name, df in data.tables.items():
        other = df.assign(arm="other")
        if name == "flows" and shrink is not None:
            to = other["destination"] == shrink
            for col in ("rigs_departed", "rigs_arrived"):
                other[col] = other[col].astype(float)
                other.loc[to, col] = other.loc[to, col] * 0.2
        tables[name] = pd.concat([df.assign(arm="ban"), other], ignore_index=True)
    return RunData(data.name, data.scenario, tables, data.meta, experiment=True)


# ---------------------------------------------------------------------------- timeline


def test_timeline_label_of_a_late_event_ends_at_its_marker(iran: RunData) -> None:
    """The report's timeline labelled every source event rising to the right of its star;
    Tavanir's power cut, days before the run's end, ran off the page ("…for the wi")."""
    from sim.report import pfig_timeline, source_events

    fig = pfig_timeline(iran, source_events(iran.scenario))
    labels = [a for a in fig.layout.annotations if a.yref == "paper" and a.y == 1.0]
    assert len(labels) >= 3
    *early, last = sorted(labels, key=lambda a: str(a.x))
    assert "Tavanir" in last.text
    assert last.xanchor == "right" and last.textangle > 0  # descends to its star from the left
    assert all(a.xanchor == "left" and a.textangle < 0 for a in early)


INSIDE = """() => [...document.querySelectorAll('.js-plotly-plot')].map(g => {
    const f = g.getBoundingClientRect();
    return [g.id, [...g.querySelectorAll('.annotation')].filter(n => {
        const b = n.getBoundingClientRect();
        return b.width > 0 && (b.left < f.left - 1 || b.right > f.right + 1);
    }).map(n => n.textContent)]; })"""


@pytest.mark.slow
@pytest.mark.parametrize("width", [1300, 1000])
def test_no_event_label_runs_off_its_figure_in_chromium(browser: Any, iran: RunData,
                                                         tmp_path: Path, width: int) -> None:
    """The last label of iran-2021's timeline ran past the figure's right edge."""
    from sim.report import write_report

    page_path = write_report(iran, tmp_path / "page.html")
    page = browser.new_page(viewport={"width": width, "height": 1000})
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://")
               else r.abort())
    page.goto(page_path.resolve().as_uri())
    page.wait_for_function("[...document.querySelectorAll('.js-plotly-plot')].every("
                           "d => d.querySelector('.main-svg'))", timeout=30_000)
    outside = page.evaluate(INSIDE)
    page.close()
    assert outside and all(not hits for _, hits in outside), outside
