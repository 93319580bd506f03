"""Static figures and the markers shared with the report: the defects of a QA pass.

1. markers and the observed overlay outside a run cut short; 2. exchanges that stop taking
new users were not marked; 3. the flows figure's count labels ran together; 4. the
difficulty figure's retarget labels collided, left the axes or sat at the wrong retarget.
Figures are checked through their artists, not their pixels.
"""

from __future__ import annotations

import subprocess
import sys
from itertools import combinations, pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import sim
from sim import plots
from sim.plot_style import counts_axis
from sim.plots import RunData

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.text import Text  # noqa: E402

_RUNS: dict[tuple[str, tuple[str, ...]], RunData] = {}


def run(scenario: str, *overrides: str) -> RunData:
    """One seeded replicate of a bundled scenario, in memory (each made once per module)."""
    key = (scenario, overrides)
    if key not in _RUNS:
        _RUNS[key] = RunData.from_results(sim.run(sim.load(scenario, list(overrides)), seed=1))
    return _RUNS[key]


pytestmark = pytest.mark.usefixtures("plot_style")  # house style, figures closed (conftest)


def drawn(fig: Any) -> Any:
    """The figure with its layout done, so that window extents are the ones saved."""
    fig.canvas.draw()
    return fig


def assert_inside_span(fig: Any, data: RunData) -> None:
    """Every axis of `fig` spans the run's dates, give or take matplotlib's 5 % margin."""
    start, end = (float(mdates.date2num(d)) for d in data.span)
    margin = 0.06 * max(end - start, 1.0)
    for ax in fig.axes:
        low, high = ax.get_xlim()
        assert start - margin <= low and high <= end + margin, (ax.get_title(), ax.get_xlim())


# ------------------------------------------------------------------ 1. markers inside the run
def test_a_run_without_events_shows_no_policy_of_its_scenario() -> None:
    """`--set end=2021-01-02`: the tutorial's policies (March–June) were drawn from the
    scenario, since the event log was empty, and stretched every axis to 1 June."""
    data = run("tutorial", "end=2021-01-02")
    assert not len(data.tables["events"])
    assert plots.markers(data) == []
    for name in ("hashrate", "difficulty", "regions", "rigs", "energy"):
        assert_inside_span(plots.FIGURE_FUNCS[name](data), data)


def test_markers_and_the_observed_curve_end_with_the_run() -> None:
    """sparkpool-2021 to 20 September: event lines on 24 September and 1 October, and the
    observed curve carried on to 31 October."""
    data = run("sparkpool-2021", "end=2021-09-20")
    start, end = data.span
    assert all(start <= m.date <= end for m in plots.markers(data))
    obs = plots.observed_hashrate(data, "ethereum")
    assert obs is not None and obs["date"].min() >= start and obs["date"].max() <= end
    fig = plots.fig_hashrate(data)
    assert_inside_span(fig, data)
    observed = [line for line in fig.axes[0].lines
                if str(line.get_label()).startswith("observed")]
    assert observed and pd.to_datetime(np.asarray(observed[0].get_xdata())).max() <= end


def test_policies_stand_in_for_a_missing_event_log_only_within_the_run() -> None:
    """Without an event log the scenario's policies are the markers, those of the run only
    (the tutorial to 31 May: not the pool ban of 1 June)."""
    data = run("tutorial", "end=2021-05-31")
    tables = {k: v.copy() for k, v in data.tables.items()}
    tables["events"] = tables["events"].iloc[:0]
    bare = RunData(data.name, data.scenario, tables, data.meta)
    dates = [m.date for m in plots.markers(bare)]
    assert pd.Timestamp("2021-04-01") in dates
    assert dates and max(dates) <= data.span[1]


# ------------------------------------------------------------ 2. exchanges that stop users
def test_an_exchange_that_stops_new_users_is_marked() -> None:
    """The tutorial's redexchange stop (15 April) had no line; sparkpool-2021 lacked Huobi,
    TokenPocket and Binance."""
    tutorial = {m.date: m for m in plots.markers(run("tutorial", "end=2021-05-31"))}
    assert tutorial[pd.Timestamp("2021-04-15")].label == "redexchange stops new users"
    spark = {m.date: m for m in plots.markers(run("sparkpool-2021"))}
    assert spark[pd.Timestamp("2021-09-25")].label == "tokenpocket stops new users"
    assert spark[pd.Timestamp("2021-09-26")].label == "binance stops new users"
    assert "huobi (exchange) stops registering new users" in spark[pd.Timestamp("2021-09-24")].text
    assert plots.MARKER_KINDS["service_stop_new_users"] == "stops new users"


# ------------------------------------------------------------------ 3. flows' count labels
def tick_boxes(ax: Any) -> list[Any]:
    low, high = ax.get_xlim()
    return sorted((t.get_window_extent() for t, x in zip(ax.get_xticklabels(), ax.get_xticks(),
                                                          strict=True)
                   if low <= x <= high and t.get_text()), key=lambda b: b.x0)


@pytest.mark.parametrize("top", [7, 950, 48_000, 125_000, 4.8e6, 5.2e9, 3.3e13])
def test_count_labels_side_by_side_never_run_together(top: float) -> None:
    """The flows figure's axis read "0 6,000 12,00018,00024,000…" for 48,000 rigs."""
    fig, axes = plt.subplots(1, 2, figsize=(11.0, 3.8), gridspec_kw={"width_ratios": [1, 1.3]})
    axes[0].barh([0, 1], [top, top / 3])
    counts_axis(axes[0], "x")
    boxes = tick_boxes(drawn(fig).axes[0])
    assert len(boxes) >= 2
    for left, right in pairwise(boxes):
        assert left.x1 + 4 < right.x0, [t.get_text() for t in axes[0].get_xticklabels()]


def test_the_flows_figure_counts_rigs_compactly() -> None:
    fig = drawn(plots.fig_flows(run("sparkpool-2021")))
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert any(t.endswith("k") for t in texts) and not any("," in t for t in texts), texts
    boxes = tick_boxes(ax)
    assert all(a.x1 < b.x0 for a, b in pairwise(boxes))


# ------------------------------------------------------------- 4. retarget percentage labels
def retarget_labels(data: RunData) -> tuple[Any, list[Any]]:
    fig = drawn(plots.fig_difficulty(data))
    ax = fig.axes[0]
    return ax, [t for t in ax.texts if t.get_text().endswith("%")]


@pytest.mark.parametrize(("scenario", "wanted"), [
    ("wuhan-general-2018", ["+30.1 %", "-20.5 %", "-12.9 %", "+10.6 %"]),
    ("tutorial", ["+16.1 %", "+19.9 %", "-21.8 %"]),
])
def test_retarget_labels_sit_at_their_own_retarget_clear_of_all_else(
        scenario: str, wanted: list[str]) -> None:
    """wuhan-general-2018: "-12.9 %" under the axes, crossed by a tick; "+30.1 %" on the step
    before, by the -12.9 % marker; "+10.6 %" overdrawn by a marker and the line. The tutorial:
    "+16.1 %" likewise."""
    data = run(scenario)
    ax, labels = retarget_labels(data)
    texts = [t.get_text() for t in labels]
    assert set(wanted) <= set(texts), texts
    rt = plots.retargets(data, data.coins[0])
    own = {f"{pct:+.1f} %": float(mdates.date2num(d))
           for d, pct in zip(rt["date"], rt["change_pct"], strict=True)}
    marks = ax.collections[0]
    centres = marks.get_offset_transform().transform(marks.get_offsets())
    line = ax.lines[0].get_transform().transform_path(ax.lines[0].get_path())
    frame = ax.get_window_extent()
    boxes = [Text.get_window_extent(t) for t in labels]  # the text alone, without its stem
    for text, label, box in zip(texts, labels, boxes, strict=True):
        anchor = ax.convert_xunits(label.xy[0])  # a date before this fix, a number since
        assert float(anchor) == pytest.approx(own[text]), text  # at its own retarget
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1, text
        assert frame.y0 <= box.y0 and box.y1 <= frame.y1, text
        hit = ((centres[:, 0] > box.x0 - 2) & (centres[:, 0] < box.x1 + 2)
               & (centres[:, 1] > box.y0 - 2) & (centres[:, 1] < box.y1 + 2))
        assert not hit.any(), f"{text} covers a retarget marker"
        assert not line.intersects_bbox(box, filled=False), f"{text} crosses the line"
        x, y = ax.transData.transform((anchor, label.xy[1]))
        rise = text.startswith("+")
        if box.x1 <= x:  # left of its point only on the far side from the step before
            assert (box.y0 >= y) == rise, text
    for a, b in combinations(boxes, 2):
        assert not a.overlaps(b)


def test_labels_keep_the_largest_changes_where_they_crowd() -> None:
    """Where not every label fits, a label left out is never larger than one kept."""
    data = run("wuhan-general-2018")
    _, labels = retarget_labels(data)
    rt = plots.retargets(data, data.coins[0])
    kept = {t.get_text() for t in labels}
    big = rt[rt["change_pct"].abs() >= 10]
    dropped = [abs(p) for p in big["change_pct"] if f"{p:+.1f} %" not in kept]
    shown = [abs(p) for p in big["change_pct"] if f"{p:+.1f} %" in kept]
    assert not dropped or max(dropped) <= max(shown)


def test_the_difficulty_figure_is_the_same_bytes_in_another_process(tmp_path: Path) -> None:
    """The SVG of a results folder is the same, byte for byte, drawn here and in a fresh
    interpreter (its own hash seed, its own matplotlib state): two renders in one process
    could not show a difference between runs."""
    folder = sim.run(sim.load("wuhan-general-2018"), seed=1).write(tmp_path / "run")
    code = ("import sys; from sim.plots import load_run, render; "
            f"sys.stdout.buffer.write(render(load_run({str(folder)!r}), 'difficulty', 'svg'))")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True,
                           cwd=Path(__file__).resolve().parents[1]).stdout
    assert len(other) > 1000
    assert plots.render(plots.load_run(folder), "difficulty", "svg") == other


def test_drawing_leaves_the_users_backend_and_figures_alone(tmp_path_factory: pytest.TempPathFactory
                                                            ) -> None:
    """A notebook's own plots keep their backend, and hashsim's figures are not pyplot's
    (a notebook would show them again at the end of the cell)."""
    import matplotlib
    import matplotlib.pyplot as plt

    from sim.plots import write_figures
    from tests.test_plots import shared_run

    before = matplotlib.get_backend()
    matplotlib.use("svg")  # (any backend but Agg, as a notebook's inline one)
    try:
        mine = plt.figure()
        written = write_figures(shared_run(tmp_path_factory), tmp_path_factory.mktemp("figs"))
        assert written
        assert matplotlib.get_backend() == "svg"
        assert plt.get_fignums() == [mine.number]
    finally:
        plt.close("all")
        matplotlib.use(before)
