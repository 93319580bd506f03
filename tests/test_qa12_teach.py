"""QA pass 12 (a teacher showing a class what a ban does; an analyst comparing arms).

Each test names the defect it keeps fixed. The runs are iran-2021 (whose last source event, in
late December, is a few days before the run's end) and china-2021 (many events), each one run;
"arms" are that run twice over, one arm's flows changed so that its own order differs.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import sim
from sim.plot_series import flow_order
from sim.plots import RunData, fig_flows, fig_rigs, flow_totals
from tests.conftest import open_page

matplotlib = pytest.importorskip("matplotlib")
pytest.importorskip("plotly")


@pytest.fixture(scope="module")
def iran() -> RunData:
    return RunData.from_results(sim.run(sim.load("iran-2021"), seed=1))


@pytest.fixture(scope="module")
def china() -> RunData:
    return RunData.from_results(sim.run(sim.load("china-2021"), seed=1))


pytestmark = pytest.mark.usefixtures("plot_style")  # house style, figures closed (conftest)


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


@pytest.mark.browser
@pytest.mark.parametrize("width", [1300, 1000])
def test_no_event_label_runs_off_its_figure_in_chromium(browser: Any, iran: RunData,
                                                         tmp_path: Path, width: int) -> None:
    """The last label of iran-2021's timeline ran past the figure's right edge."""
    from sim.report import write_report

    page_path = write_report(iran, tmp_path / "page.html")
    page, seen = open_page(browser, page_path, width)
    outside = page.evaluate(INSIDE)
    page.close()
    assert seen["errors"] == [] and seen["blocked"] == [], seen
    assert outside and all(not hits for _, hits in outside), outside


# ---------------------------------------------------------------------------- flows


def test_flows_figure_lists_the_pairs_in_one_order_for_every_arm(iran: RunData) -> None:
    """Each arm's bars were sorted by that arm's own totals: Iran → Kazakhstan first in one arm
    and last in the next, so a class comparing them side by side read the wrong rows."""
    arms = two_arms(iran, shrink="kazakhstan")
    fig = fig_flows(arms)
    bars = [fig.axes[0], fig.axes[2]]
    names = [[t.get_text() for t in ax.get_yticklabels()] for ax in bars]
    assert names[0] == names[1] and len(names[0]) == 3
    # by rigs over both arms (Russia: 2 × 66k), not by either arm's own (Kazakhstan: 81k in
    # ban, last in other)
    totals = {arm: flow_totals(arms, arm) for arm in arms.arms}
    assert flow_order(totals) == [("iran", "russia"), ("iran", "rest_of_world"),
                                  ("iran", "kazakhstan")]
    assert names[0][-1] == "Iran → Russia"  # the top row
    # the bar in each row is that arm's own number for that pair
    own = {arm: {(o, d): r for o, d, r in
                 flow_totals(arms, arm).itertuples(index=False)}
           for arm in arms.arms}
    for ax, arm in zip(bars, arms.arms, strict=True):
        widths = [p.get_width() for p in ax.patches][::-1]
        assert widths == pytest.approx([own[arm][pair] for pair in flow_order(totals)])


def test_flows_figure_arrivals_share_one_scale_and_one_legend_order(iran: RunData) -> None:
    """The arrivals had one y scale per arm (80k and 90k rigs drew as high) and a legend in
    each arm's own order."""
    fig = fig_flows(two_arms(iran, shrink="kazakhstan"))
    arrivals = [fig.axes[1], fig.axes[3]]
    assert arrivals[0].get_ylim() == arrivals[1].get_ylim()
    legends = [[t.get_text() for t in ax.get_legend().get_texts()] for ax in arrivals]
    assert legends[0] == legends[1]


def test_flows_figure_keeps_the_arrivals_legend_off_the_curves(china: RunData) -> None:
    """china-2021's legend of seven destinations, inside the axes' upper left, had the
    Kazakhstan curve running through 'Rest of the world'."""
    fig = fig_flows(china)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[1]
    legend = ax.get_legend().get_window_extent(renderer)
    assert legend.x0 >= ax.get_window_extent(renderer).x1


def test_report_arrivals_list_the_destinations_as_the_png_does(iran: RunData) -> None:
    """The PNG's arrivals legends listed the destinations by rigs over all arms, the report's
    one legend in the first arm's own order and then the others' additions: with fewer rigs to
    Kazakhstan in the second arm, it was first in the report and last in the PNG."""
    from sim.plot_series import cumulative_arrivals, dest_order
    from sim.plot_style import clip
    from sim.report import pfig_arrivals

    arms = two_arms(iran, shrink="kazakhstan")
    fig = fig_flows(arms)
    png = [[t.get_text() for t in ax.get_legend().get_texts()] for ax in fig.axes[1::2]]
    entries = [t for t in pfig_arrivals(arms).data if t.showlegend]
    # plotly lists a legend by legendrank (1000 where a trace has none), then in trace order
    ranked = sorted(range(len(entries)), key=lambda i: (
        1000 if entries[i].legendrank is None else entries[i].legendrank, i))
    report = [entries[i].meta for i in ranked]  # the full names (the PNG's are clipped)
    over = dest_order(cumulative_arrivals(arms, arm) for arm in arms.arms)
    assert over[0] == "russia" and over[-1] == "kazakhstan"
    assert png[0] == png[1] == [clip(arms.label(d)) for d in over]
    assert report == [arms.label(d) for d in over]


def test_report_sankeys_stack_the_regions_in_one_order_for_every_arm(iran: RunData) -> None:
    """Each arm's Sankey listed its destinations by its own totals (Russia second in one,
    third in the next)."""
    from sim.report import pfig_sankey

    arms = two_arms(iran, shrink="kazakhstan")
    nodes = [list(pfig_sankey(arms, arm).data[0].node.label) for arm in arms.arms]
    assert nodes[0] == nodes[1]
    assert nodes[0][1] == "→ Russia"  # the most rigs over both arms (ban's own first: Kazakhstan)


# ---------------------------------------------------------------------------- event labels


def marker_labels(ax: Any) -> list[Any]:
    return [t for t in ax.texts if t.get_rotation() == 50.0]


def test_event_labels_of_narrow_panels_do_not_overdraw_each_other(china: RunData) -> None:
    """In rigs by status for two arms each panel is half as wide, but events were grouped as on
    a full-width figure: 'ban Xinjiang, ban Qinghai…' and 'power cut Sichuan…' ran together."""
    fig = fig_rigs(two_arms(china))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        texts = marker_labels(ax)
        assert len(texts) >= 5
        for a, b in combinations(texts, 2):
            # rotated text's box is an upright rectangle around a slanted line: compare the
            # labels' baselines' distance instead, across the slant
            xa, xb = (t.get_window_extent(renderer).x0 for t in (a, b))
            assert abs(xa - xb) * 0.766 >= 6.5 * fig.dpi / 72.0, (a.get_text(), b.get_text())


def test_event_labels_of_a_full_width_figure_are_grouped_as_before(china: RunData) -> None:
    """The spacing that keeps narrow panels apart changes nothing on a full-width figure."""
    from sim.plot_style import cluster_markers
    from sim.plots import markers

    fig = fig_rigs(china)
    assert len(marker_labels(fig.axes[0])) == len(cluster_markers(markers(china), china.span))


def test_choices_figure_lists_the_regions_in_one_order_for_every_arm(china: RunData) -> None:
    """The PNG's decisions bars were sorted by each arm's own totals: a region that decided
    less in the second arm moved rows. Both figures now list the regions by decisions over
    every arm, the order of the flows' pairs and the arrivals' destinations (the report's had
    taken the first arm's order)."""
    from sim.plots import choice_totals, clip, fig_choices
    from sim.report import pfig_choices

    first = choice_totals(china, china.arms[0])
    assert len(first) >= 3
    top = str(first.index[0])
    tables = dict(china.tables)
    dec = china.tables["decisions"]
    other = dec.assign(arm="other", rigs=dec["rigs"].where(dec["region"] != top,
                                                           dec["rigs"] // 50))
    tables["decisions"] = pd.concat([dec.assign(arm="ban"), other], ignore_index=True)
    for name in ("network", "regions", "pools", "facilities", "flows", "events", "summary"):
        df = china.tables[name]
        tables[name] = pd.concat([df.assign(arm="ban"), df.assign(arm="other")],
                                 ignore_index=True)
    arms = RunData(china.name, china.scenario, tables, china.meta, experiment=True)
    assert choice_totals(arms, "other").index[0] != top  # its own order differs
    fig = fig_choices(arms)
    panels = [ax for ax in fig.axes if ax.get_yticklabels()]
    names = [[t.get_text() for t in ax.get_yticklabels()] for ax in panels]
    assert len(panels) == 2 and names[0] == names[1]
    own = {arm: choice_totals(arms, arm).sum(axis=1) for arm in ("ban", "other")}
    over = own["ban"].add(own["other"], fill_value=0.0).sort_values(ascending=False,
                                                                   kind="stable")
    regions = list(over.index)[:len(names[0])]
    assert names[0][::-1] == [clip(china.label(r), 24) for r in regions]  # top row first
    page = pfig_choices(arms)
    assert list(page.data[0].y)[::-1] == [clip(china.label(r), 24) for r in regions]
    for ax, arm in zip(panels, ("ban", "other"), strict=True):
        ends = [0.0] * len(regions)
        for patch in ax.patches:  # each row's stacked bar ends at the region's total
            row = round(patch.get_y() + patch.get_height() / 2)
            ends[row] = max(ends[row], patch.get_x() + patch.get_width())
        assert ends[::-1] == pytest.approx([own[arm].get(r, 0.0) for r in regions])


def test_flows_figure_title_sits_on_its_panels_and_an_empty_arm_is_one_line(
        iran: RunData) -> None:
    """The flows figure's title floated an inch and a half above a three-arm figure's panels
    (suptitle at y=1.02 of its height), and an arm without movement took a full row of blank."""
    tables = dict(iran.tables)
    for name, df in iran.tables.items():
        moved = df.assign(arm="ban")
        still = df.iloc[0:0].assign(arm="no-ban") if name in ("flows", "decisions") \
            else df.assign(arm="no-ban")
        tables[name] = pd.concat([moved, still, df.assign(arm="again")], ignore_index=True)
    arms = RunData(iran.name, iran.scenario, tables, iran.meta, experiment=True)
    fig = fig_flows(arms)
    renderer = fig.canvas.get_renderer()
    inch = fig.dpi
    title = fig._suptitle.get_window_extent(renderer)
    first = fig.axes[0].title.get_window_extent(renderer)
    gap = (title.y0 - first.y1) / inch
    assert 0 <= gap < 0.4, gap
    heights = [ax.get_position().height * fig.get_figheight() for ax in fig.axes[0::2]]
    assert heights[1] < 0.5 * heights[0] and heights[2] == pytest.approx(heights[0])


# ---------------------------------------------------------------------------- who earned what


def test_earnings_figure_draws_each_arms_revenue_and_cost_by_region(iran: RunData) -> None:
    """The earnings figure (PNG and report) draws summary.csv's revenue.<region> and
    cost.<region>, mean over runs, the regions in one order (most revenue first) and on one
    scale for every arm; a folder without those rows (an earlier version's) has none."""
    from sim.plot_series import earnings
    from sim.plots import fig_earnings
    from sim.report import pfig_earnings

    arms = two_arms(iran)
    summary = arms.tables["summary"]
    other = summary["arm"] == "other"
    iran_rev = other & (summary["metric"] == "revenue.iran")
    summary.loc[iran_rev, "value"] = summary.loc[iran_rev, "value"] * 0.25  # Iran lost more
    books = earnings(arms)
    assert books is not None
    totals = books.by_arm
    own = {arm: {m.split(".", 1)[1]: v for m, v in summary[
        (summary["arm"] == arm) & summary["metric"].str.startswith("revenue.")].groupby(
        "metric")["value"].mean().items()} for arm in arms.arms}
    order = list(totals["ban"].index)
    assert order == books.regions == list(totals["other"].index)
    assert totals["other"].loc["iran", "revenue"] == pytest.approx(own["other"]["iran"])
    over = {r: own["ban"][r] + own["other"][r] for r in order}
    assert order == sorted(over, key=lambda r: -over[r])
    fig = fig_earnings(arms)
    panels = [ax for ax in fig.axes if ax.get_yticklabels()]
    assert len(panels) == 2 and panels[0].get_xlim() == panels[1].get_xlim()
    scale = {"bn USD": 1e9, "M USD": 1e6}[panels[1].get_xlabel().split(" over")[0]]
    for ax, arm in zip(panels, arms.arms, strict=True):
        widths = sorted(p.get_width() * scale for p in ax.patches)
        expected = sorted([*totals[arm]["revenue"], *totals[arm]["cost"]])
        assert widths == pytest.approx(expected, rel=1e-9)
    page = pfig_earnings(arms)
    bars = [t for t in page.data if t.type == "bar"]
    assert len(bars) == 4 and list(bars[0].y) == list(bars[2].y)
    old = RunData(arms.name, arms.scenario, {**arms.tables, "summary": summary[
        ~summary["metric"].str.startswith(("revenue.", "cost."))]}, arms.meta,
        experiment=True)
    assert fig_earnings(old) is None and pfig_earnings(old) is None
    # an arm without the rows (its runs from an earlier version) draws as nothing earned
    mixed = RunData(arms.name, arms.scenario, {**arms.tables, "summary": summary[
        ~(other & summary["metric"].str.startswith(("revenue.", "cost.")))]}, arms.meta,
        experiment=True)
    mixed_books = earnings(mixed)
    assert mixed_books is not None and (mixed_books.by_arm["other"].to_numpy() == 0).all()
    assert list(mixed_books.by_arm["ban"].index) == list(mixed_books.by_arm["other"].index)
    assert fig_earnings(mixed) is not None


def test_plot_help_describes_every_figure_it_offers() -> None:
    """`hashsim plot --only` offers sim.plots.FIGURES (a copy of the list had left out the
    newest figure), and its help describes each of them."""
    from sim.commands.visual import plot
    from sim.plots import FIGURES

    only = next(p for p in plot.params if p.name == "only")
    assert list(only.type.choices) == list(FIGURES)
    assert plot.help is not None
    table = plot.help.split("\b", 1)[1].split("\n\n", 1)[0]  # the lines after \b
    described = [line.split()[0] for line in table.splitlines()
                 if line.startswith("    ") and line[4:5].isalpha()]
    assert described == list(FIGURES)
