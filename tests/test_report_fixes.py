"""QA of report.html for a class: no link off the page, the timeline's axis and lanes, the
sources within the run, arms that moved no rigs, long region names.

Each test names the defect it keeps fixed. The runs are the short tutorial of test_plots (one
shared folder), a two-day tutorial and an experiment folder made from the shared run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import sim
from sim.plots import RunData, load_run
from sim.report import (
    _lane,
    build_report,
    pfig_arrivals,
    pfig_pools,
    pfig_regions,
    pfig_timeline,
    write_report,
)
from sim.report_events import source_events
from tests.test_plots import make_experiment, shared_run, small_run
from tests.test_report import open_page

pytest.importorskip("plotly")

LONG = "Highland " * 12  # a region label of 108 characters


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> RunData:
    """The shared short tutorial run (1 Jan – 31 May 2021), loaded."""
    return load_run(shared_run(tmp_path_factory))


@pytest.fixture(scope="module")
def two_days(tmp_path_factory: pytest.TempPathFactory) -> RunData:
    """A tutorial run of 1–3 January 2021: nothing happens in it."""
    return load_run(small_run(tmp_path_factory.mktemp("two") / "run", ["end=2021-01-03"],
                              replicates=1))


@pytest.fixture(scope="module")
def one_arm_moved(data: RunData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tutorial-sweep's layout, in whose no-ban arm no rig moved (flows.csv has no row)."""
    assert data.source is not None
    folder = make_experiment(data.source, tmp_path_factory.mktemp("sweep") / "exp")
    flows = pd.read_csv(folder / "flows.csv")
    flows[flows["arm"] != "no-ban"].to_csv(folder / "flows.csv", index=False)
    return folder


def named(data: RunData, **labels: str) -> RunData:
    """`data` with some regions' labels replaced."""
    regions = [{**r, "label": labels.get(r["name"], r.get("label"))}
               for r in data.scenario["regions"]]
    return RunData(data.name, {**data.scenario, "regions": regions}, data.tables, data.meta)


def configs(page: str) -> list[dict[str, Any]]:
    """The plotly config of every chart of the page (the last argument of Plotly.newPlot)."""
    charts = page[page.index("</script>"):]  # after the library
    return [json.loads(c) for c in re.findall(r"\},\s*(\{[^{}]*\})\s*\)\s*\};", charts)]


# ---------------------------------------------------------------------------- off the page


def test_no_chart_offers_to_share_it_on_plotly_cloud(data: RunData) -> None:
    """plotly.js 4 puts a "Share chart..." button on every chart that uploads it to
    cloud.plotly.com, on a page that promises it needs no network."""
    page = build_report(data)
    found = configs(page)
    assert len(found) == page.count('class="plotly-graph-div"') >= 10
    for config in found:
        assert config["showSendToCloud"] is False and config["displaylogo"] is False
        assert {"sendChartToCloud", "sendDataToCloud"} <= set(config["modeBarButtonsToRemove"])


# ---------------------------------------------------------------------------- timeline


def test_the_timeline_spans_the_run_from_its_first_day_to_its_last(data: RunData) -> None:
    """sparkpool-2021 (1 Sep – 31 Oct) showed 23 Sep – 1 Oct: the axis followed the events."""
    fig = pfig_timeline(data, [])
    assert fig.layout.xaxis.type == "date"
    assert list(fig.layout.xaxis.range) == ["2021-01-01", "2021-05-31"]


def test_a_timeline_without_events_says_so_on_a_date_axis(two_days: RunData) -> None:
    """A run with no events drew an empty chart whose only x tick was "0" (−1 to 6)."""
    assert not len(two_days.first_member())
    fig = pfig_timeline(two_days, [])
    assert fig.layout.xaxis.type == "date"
    assert list(fig.layout.xaxis.range) == ["2021-01-01", "2021-01-03"]
    assert any(a.text.startswith("No events in this run") for a in fig.layout.annotations)
    assert fig.layout.yaxis.visible is False


def test_deliveries_and_unknown_kinds_are_not_government_policy() -> None:
    """wuhan-general-2018's four rig deliveries were drawn in the "policy (governments)"
    lane: every kind the timeline did not know went there."""
    import typing

    import sim.scenario as s

    # every kind of policy a scenario can hold (from the schema, not from the report's list)
    members = typing.get_args(typing.get_args(s.Policy)[0])
    kinds = {typing.get_args(m.model_fields["kind"].annotation)[0] for m in members}
    assert len(kinds) == 8 and {_lane(k) for k in kinds} == {"policy"}
    assert _lane("delivery") == "deliveries"
    assert _lane("facility_capacity") == _lane("capacity") == "capacity"
    assert _lane("pool_shutdown") == "pools" and _lane("service_close") == "services"
    assert _lane("retarget") == "difficulty"
    assert _lane("a_kind_not_yet_written") == "other"


def test_the_timeline_draws_a_delivery_in_its_own_lane(data: RunData) -> None:
    ev, one = data.tables["events"], data.first_member().iloc[[0]]
    first = one.assign(kind="delivery", description="1,000 S9 delivered to bluefarm")
    odd = one.assign(kind="rumour", description="a rumour")
    tables = {**data.tables, "events": pd.concat([ev, first, odd])}
    fig = pfig_timeline(RunData(data.name, data.scenario, tables, data.meta), [])
    lanes = {t.name: set(t.y) for t in fig.data}
    assert lanes["deliveries"] == {"deliveries"} and lanes["other"] == {"other"}
    assert not any("delivered" in text for text in next(t for t in fig.data
                                                         if t.name == "policy").text)


# ---------------------------------------------------------------------------- sources


def test_the_sources_of_a_case_are_its_own_and_within_its_run() -> None:
    """sparkpool-2021's table listed the 2018 Wuhan General plan, China's May–July 2021
    Bitcoin events and Huobi's 31 December deadline, none within 1 Sep – 31 Oct 2021."""
    spark = source_events(sim.load("sparkpool-2021").model_dump(mode="json"))
    assert spark and all(pd.Timestamp("2021-09-01") <= pd.Timestamp(e.date)
                         <= pd.Timestamp("2021-10-31") for e in spark)
    assert not any("Bitcoin" in e.title or "Wuhan" in e.title for e in spark)
    china = source_events({"name": "china-2021", "start": "2021-04-01", "end": "2022-03-31"})
    assert china and not any(e.date.year == 2018 for e in china)


def test_the_sources_table_and_the_timeline_show_the_same_events(data: RunData) -> None:
    scenario = {**data.scenario, "name": "china-2021-short"}  # 1 Jan – 31 May 2021
    china = RunData(data.name, scenario, data.tables, data.meta)
    page = build_report(china)
    table = page[page.index("What the sources report"):]
    table = table[:table.index("</table>")]
    dates = re.findall(r"<tr><td>(\d{4}-\d\d-\d\d)</td>", table)
    stars = next(t for t in pfig_timeline(china, source_events(scenario)).data
                 if t.name == "source articles")
    assert dates == list(stars.x) == ["2021-05-18", "2021-05-21"]


# ---------------------------------------------------------------------------- experiments


def test_an_arm_that_moved_no_rigs_says_so(one_arm_moved: Path) -> None:
    """tutorial-sweep's no-ban arrivals panel was a title over empty space and its Sankey
    was left out without a word."""
    exp = load_run(one_arm_moved)
    fig = pfig_arrivals(exp)
    assert fig is not None
    notes = [a for a in fig.layout.annotations if a.text == "no rigs moved"]
    assert len(notes) == 1 and notes[0].x > 0.5  # over the second (no-ban) panel
    page = build_report(exp)
    assert "No rigs moved in the arm no-ban" in page
    assert 'id="fig-sankey-0"' in page and 'id="fig-sankey-1"' not in page


def test_an_experiment_page_is_titled_with_the_experiment_name(one_arm_moved: Path) -> None:
    """The page of `hashsim sweep tutorial-sweep` read "hashsim experiment: tutorial"."""
    page = build_report(load_run(one_arm_moved))
    assert "<title>hashsim experiment: tutorial-sweep</title>" in page
    assert "<h1>hashsim experiment: tutorial-sweep</h1>" in page


# ---------------------------------------------------------------------------- long names


def test_long_region_names_are_shortened_in_legends_not_in_hover(data: RunData) -> None:
    """A 108-character label made the legend as wide as the plot."""
    long = named(data, highland=LONG, blue_country=LONG.replace("Highland", "Blue"))
    figs = [pfig_regions(long, "TUT"), pfig_arrivals(long)]
    entries = [t for fig in figs for t in fig.data if t.showlegend is not False]
    assert any(t.meta == LONG for t in entries)
    for trace in entries:
        assert len(trace.name) <= 40 and "%{meta}" in trace.hovertemplate
        if len(trace.meta) > 40:
            assert trace.name.endswith("…") and trace.meta.startswith(trace.name[:-1])
    pools = pfig_pools(data, "TUT")
    assert all(t.meta == t.name for t in pools.data)  # short names are left whole


# ---------------------------------------------------------------------------- in a browser



BUTTONS = """() => [...document.querySelectorAll('.modebar')].map(bar => [
    ...[...bar.querySelectorAll('.modebar-btn')].map(b => b.getAttribute('data-title')),
    ...[...bar.querySelectorAll('a[href]')].map(a => a.href)])"""


@pytest.mark.browser
def test_no_mode_bar_button_leads_off_the_page_in_chromium(browser: Any, two_days: RunData,
                                                           tmp_path: Path) -> None:
    """A two-day run: its mode bars, and its empty timeline on a date axis."""
    page, seen = open_page(browser, write_report(two_days, tmp_path / "page.html"))
    try:
        assert seen["errors"] == [] and seen["console"] == [] and seen["blocked"] == [], seen
        bars = page.evaluate(BUTTONS)
        assert bars and all("Reset axes" in bar for bar in bars)
        offsite = [b for bar in bars for b in bar
                   if re.search(r"share|cloud|chart studio|plotly|https?:", b, re.I)]
        assert offsite == []
        axis = page.evaluate("() => { const x = document.getElementById('fig-timeline')"
                             "._fullLayout.xaxis; return [x.type, x.range]; }")
        assert axis[0] == "date" and axis[1][0].startswith("2021-01-01")
        ticks = page.locator("#fig-timeline .xtick text").all_text_contents()
        assert "01 Jan 2021" in ticks and "0" not in ticks, ticks
        assert "No events in this run" in page.inner_text("#fig-timeline")
    finally:
        page.close()


PLOT_WIDTH = """() => { const g = document.getElementById('fig-regions-0');
    return [g.querySelector('.nsewdrag').getBoundingClientRect().width,
            g.querySelector('.main-svg').getBoundingClientRect().width]; }"""


@pytest.mark.browser
def test_a_long_region_name_leaves_the_plot_its_width_in_chromium(browser: Any, data: RunData,
                                                                   tmp_path: Path) -> None:
    page, seen = open_page(browser, write_report(named(data, highland=LONG),
                                                 tmp_path / "page.html"))
    try:
        assert seen["errors"] == [] and seen["console"] == [], seen
        plot, chart = page.evaluate(PLOT_WIDTH)
        assert plot > 0.65 * chart, (plot, chart)
        page.locator("#fig-regions-0").scroll_into_view_if_needed()
        box = page.locator("#fig-regions-0 .nsewdrag").first.bounding_box()
        page.mouse.move(box["x"] + 0.3 * box["width"], box["y"] + 0.5 * box["height"])
        page.wait_for_selector("#fig-regions-0 .hoverlayer text", timeout=5_000)
        hover = " ".join(page.locator("#fig-regions-0 .hoverlayer text").all_text_contents())
        assert LONG.strip() in hover, hover
    finally:
        page.close()
