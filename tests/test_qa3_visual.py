"""QA pass 3 of the visual paths: colours, incomplete folders, units, short runs, labels, demo.

Each test names the defect it keeps fixed. The runs are the short tutorial of test_plots (one
shared folder) and small RunData tables built from it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import sim
from sim import plots
from sim.plot_style import PALETTE, TAB10_NAMES, palette_slots, region_colours
from sim.plots import RunData, load_run
from tests.conftest import open_offline
from tests.test_plots import SHORT, shared_run, small_run

pytest.importorskip("matplotlib")
pytest.importorskip("plotly")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> RunData:
    """test_plots.py's short run (made once per session), loaded; its folder is `.source`."""
    return load_run(shared_run(tmp_path_factory))


def with_tables(data: RunData, scenario: dict[str, Any] | None = None, **tables: pd.DataFrame
                ) -> RunData:
    """A copy of `data` with some tables (and the scenario) replaced."""
    new = {k: v.copy() for k, v in data.tables.items()}
    new.update(tables)
    return RunData(data.name, scenario if scenario is not None else data.scenario, new,
                   data.meta)


def two_coin(data: RunData) -> RunData:
    """The tutorial run with a second coin, ALT, whose regions rank in the reverse order."""
    net = data.tables["network"]
    reg = data.tables["regions"]
    alt_reg = reg.assign(coin="ALT", share=1.0 - reg["share"])
    return with_tables(data, network=pd.concat([net, net.assign(coin="ALT")]),
                       regions=pd.concat([reg, alt_reg]))


def legend_colours(ax: Any) -> dict[str, tuple[float, ...]]:
    from matplotlib.colors import to_rgba

    legend = ax.get_legend()
    return {t.get_text(): to_rgba(h.get_facecolor()) for t, h in
            zip(legend.get_texts(), legend.legend_handles, strict=True)}


# ---------------------------------------------------------------------------- colours


def test_more_than_ten_regions_all_get_different_colours() -> None:
    """china-2021 has 14 regions: the report drew Xinjiang and Canada in the same blue."""
    keys = [f"region_{k}" for k in range(14)]
    slots = palette_slots(keys)
    assert len(set(slots)) == 14 and len({PALETTE[s] for s in slots}) == 14
    named = palette_slots(["green_country", *keys])
    assert TAB10_NAMES[named[0]] == "green" and len(set(named)) == 15


def test_a_region_has_one_colour_in_every_figure(data: RunData) -> None:
    """Green Country was red in the Sankey and orange in the arrivals chart; in a two-coin
    world a region changed colour from one coin's panel to the next."""
    from sim.report import pfig_arrivals, pfig_regions, pfig_sankey

    palette = region_colours(data)
    assert palette["green_country"] == PALETTE[TAB10_NAMES.index("green")]
    sankey = pfig_sankey(data, "")
    assert sankey is not None
    node = sankey.data[0].node
    for label, colour in zip(node.label, node.color, strict=True):
        region = next(r for r in palette if data.label(r) == label.removeprefix("→ "))
        assert colour == palette[region], label
    arrivals = pfig_arrivals(data)
    assert arrivals is not None
    for trace in arrivals.data:
        region = next(r for r in palette if data.label(r) == trace.name)
        assert trace.line.color == palette[region]
    for trace in pfig_regions(data, "TUT").data:
        region = next(r for r in palette if data.label(r) == trace.name)
        assert trace.line.color == palette[region]

    both = two_coin(data)
    fig = plots.fig_regions(both)
    assert fig is not None
    top, bottom = legend_colours(fig.axes[0]), legend_colours(fig.axes[1])
    assert top == bottom and len(set(top.values())) == len(top)


def test_stacked_legends_list_the_top_layer_first(data: RunData) -> None:
    """The legend of a stacked chart read bottom-up while the chart reads top-down."""
    from sim.report import pfig_regions, pfig_rigs

    fig = plots.fig_regions(data)
    assert fig is not None
    names = list(legend_colours(fig.axes[0]))
    drawn = [c.get_label() for c in fig.axes[0].collections if
             not c.get_label().startswith("_")]
    assert names == drawn[::-1]
    assert pfig_regions(data, "TUT").layout.legend.traceorder == "reversed"
    rigs = pfig_rigs(data)
    assert rigs is not None and rigs.layout.legend.traceorder == "reversed"


# ---------------------------------------------------------------------------- incomplete folders


def plot_cli(*args: str) -> Any:
    from sim.commands.visual import plot

    return CliRunner().invoke(plot, list(args))


def report_cli(*args: str) -> Any:
    from sim.commands.visual import report

    return CliRunner().invoke(report, list(args))


@pytest.mark.parametrize("table", ["regions", "pools", "facilities"])
def test_a_folder_missing_a_table_draws_the_rest_and_says_so(data: RunData, tmp_path: Path,
                                                             table: str) -> None:
    """A results folder without regions.csv (pools.csv, facilities.csv) was a KeyError
    traceback after some figures had been written."""
    folder = tmp_path / "r"
    assert data.source is not None
    shutil.copytree(data.source, folder)
    (folder / f"{table}.csv").unlink()
    result = plot_cli(str(folder), "-o", str(tmp_path / "f"))
    assert result.exit_code == 0, result.output
    assert f"has no {table}.csv" in result.stderr and "Traceback" not in result.output
    drawn = {p.stem for p in (tmp_path / "f").iterdir()}
    lost = {"regions": {"regions", "rigs", "energy"}, "pools": {"pools"},
            "facilities": {"facilities"}}[table]
    assert drawn == set(plots.FIGURES) - lost
    result = report_cli(str(folder), "-o", str(tmp_path / "page.html"))
    assert result.exit_code == 0, result.output
    page = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert f"has no {table}.csv" in page


def test_a_network_table_without_difficulty_skips_that_figure(data: RunData,
                                                              tmp_path: Path) -> None:
    net = data.tables["network"][["arm", "sample", "replicate", "date", "coin", "hashrate_hs"]]
    bare = with_tables(data, network=net)
    written = plots.write_figures(bare, tmp_path, "png", ("hashrate", "difficulty"))
    assert [p.stem for p in written] == ["hashrate"]
    from sim.report import build_report

    assert "fig-difficulty-0" not in build_report(bare)


def test_a_figure_that_fails_leaves_no_half_set_of_files(data: RunData, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    def broken(_data: RunData) -> None:
        raise RuntimeError("boom")

    monkeypatch.setitem(plots.FIGURE_FUNCS, "energy", broken)
    with pytest.raises(RuntimeError):
        plots.write_figures(data, tmp_path / "f", "png", ("hashrate", "energy"))
    assert not (tmp_path / "f").exists() or not list((tmp_path / "f").iterdir())


def test_an_output_below_a_file_is_refused_with_a_message(data: RunData, tmp_path: Path
                                                          ) -> None:
    (tmp_path / "file").write_text("x")
    run_dir = str(data.source)
    result = report_cli(run_dir, "-o", str(tmp_path / "file" / "page.html"))
    assert result.exit_code == 2 and "is a file, not a folder" in result.stderr
    result = plot_cli(run_dir, "-o", str(tmp_path / "file" / "figs"))
    assert result.exit_code == 2 and "is a file, not a folder" in result.stderr


# ---------------------------------------------------------------------------- units


def test_a_fast_chains_block_time_is_in_seconds(data: RunData) -> None:
    """Ethereum's 13.2 s blocks were drawn as 0.22 min."""
    from sim.report import pfig_difficulty

    assert plots.block_time_unit(data, "TUT") == (60.0, "min")
    scenario = dict(data.scenario)
    scenario["coins"] = [{**c, "block_time_s": 13.2} for c in scenario["coins"]]
    net = data.tables["network"].assign(mean_block_time_s=13.2)
    fast = with_tables(data, scenario, network=net)
    assert plots.block_time_unit(fast, "TUT") == (1.0, "s")
    fig = plots.fig_difficulty(fast)
    assert fig is not None
    assert fig.axes[1].get_ylabel().endswith("(s)")
    assert fig.axes[1].get_lines()[0].get_ydata()[-1] == pytest.approx(13.2)
    page = pfig_difficulty(fast, "TUT")
    assert page.layout.yaxis2.title.text.endswith("(s)")


def test_energy_and_co2_take_an_si_prefix_in_the_report(data: RunData) -> None:
    """The report wrote china-2021's CO₂ as '30,450.9 kt' and its axis as '30k kt', where
    the PNG said Mt."""
    from sim.report import format_value, pfig_energy

    assert format_value(data, "TUT", "MWh", 64_072_400.0) == "64.1 TWh"
    assert format_value(data, "TUT", "MWh", 687_100.0) == "687.1 GWh"
    assert format_value(data, "TUT", "t", 30_450_900.0) == "30.5 Mt"
    assert format_value(data, "TUT", "t", 236_800.0) == "236.8 kt"
    fig = pfig_energy(data)
    png = plots.fig_energy(data)
    assert fig is not None and png is not None
    assert fig.layout.yaxis.title.text == png.axes[0].get_ylabel()
    assert fig.layout.yaxis2.title.text == png.axes[1].get_ylabel()


def test_a_range_that_rounds_to_one_value_is_left_out(data: RunData) -> None:
    """'final share: Red Country 0.0 % [0.0 % – 0.0 %]'."""
    from sim.report import _cell

    dates = pd.Series([], dtype=object)
    text = _cell(data, "TUT", "fraction", np.array([1e-6, 2e-6]), dates, 2, "final_share.x")
    assert text == "0.0 %"
    text = _cell(data, "TUT", "fraction", np.array([0.1, 0.3]), dates, 2, "final_share.x")
    assert "[" in text


def test_facility_axes_name_their_units(data: RunData) -> None:
    from sim.report import pfig_facility

    fig = pfig_facility(data, "bluefarm")
    assert fig.layout.yaxis.title.text == "MW"
    assert fig.layout.yaxis2.title.text == "USD million per month"


# ---------------------------------------------------------------------------- short runs


@pytest.fixture(scope="module")
def short_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_run(tmp_path_factory.mktemp("short") / "run", ["end=2021-01-03"],
                     replicates=1)


def test_a_run_of_a_few_days_has_day_ticks_not_hours(short_dir: Path) -> None:
    """A two-day run's time axis read 03:00, 06:00, … for daily data."""
    from sim.report import build_report

    short = load_run(short_dir)
    fig = plots.fig_hashrate(short)
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels and not any(":" in text for text in labels), labels
    assert "01 Jan\n2021" in labels
    assert '"dtick":86400000' in build_report(short)


# ---------------------------------------------------------------------------- labels


def test_the_report_title_sits_above_the_event_labels(data: RunData) -> None:
    """Event labels climbed into the title ('outage Xinjiang; …' over 'Network hashrate')."""
    from sim.report import TITLE_PX, pfig_hashrate, pfig_timeline
    from sim.report_events import CHINA_2021

    fig = pfig_hashrate(data, "TUT")
    assert fig.layout.title.yref == "container" and fig.layout.title.yanchor == "top"
    labels = [a.text for a in fig.layout.annotations]
    room = fig.layout.margin.t - TITLE_PX
    longest = max(len(text) for text in labels)
    assert room >= 0.6 * 9 * longest * np.sin(np.radians(50))  # each label fits below the title
    timeline = pfig_timeline(data, CHINA_2021)
    longest = max(len(a.text) for a in timeline.layout.annotations)
    assert timeline.layout.margin.t - TITLE_PX >= 0.6 * 10 * longest * np.sin(np.radians(40))



OVERLAPS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(g => {
    const t = g.querySelector('.gtitle').getBoundingClientRect();
    return [g.id, [...g.querySelectorAll('.annotation')].filter(n => {
        const b = n.getBoundingClientRect();
        return t.left < b.right && b.left < t.right && t.top < b.bottom && b.top < t.bottom;
    }).map(n => n.textContent)]; })"""


@pytest.mark.slow
def test_no_event_label_covers_a_title_in_chromium(browser: Any, tmp_path: Path) -> None:
    """A policy on the first days puts its label under the title's left end."""
    from sim.report import write_report

    run = sim.run(sim.load("tutorial", [*SHORT, "policies.warning.date=2021-01-02"]), seed=1)
    page_path = write_report(run, tmp_path / "page.html")
    page = open_offline(browser, page_path, ready=".gtitle")
    overlaps = page.evaluate(OVERLAPS)
    page.close()
    assert overlaps and all(not hits for _, hits in overlaps), overlaps


# ---------------------------------------------------------------------------- demo


def test_a_folder_named_like_a_bundled_scenario_does_not_hide_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`hashsim demo` in a folder holding `tutorial/` (say, results written with
    `-o tutorial`) failed: 'tutorial: (document): is a directory, not a scenario file'."""
    from sim.demo import UnknownScenarioError, find_scenario

    monkeypatch.chdir(tmp_path)
    (tmp_path / "tutorial").mkdir()
    assert find_scenario("tutorial").name == "tutorial"
    (tmp_path / "mine").mkdir()
    with pytest.raises(UnknownScenarioError, match="a folder, not a scenario file"):
        find_scenario("mine")


def test_a_date_axis_offset_names_the_year_not_the_last_month() -> None:
    """A September–October run's axis said "2021-Nov" under it (matplotlib's default offset
    for day ticks names the last tick's month)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.plot_style import date_axis

    fig, ax = plt.subplots()
    dates = pd.date_range("2021-09-01", "2021-10-31")
    ax.plot(dates, np.arange(len(dates)))
    date_axis(ax)
    fig.canvas.draw()
    assert ax.xaxis.get_major_formatter().get_offset() == "2021"
    plt.close(fig)


def test_a_pools_stop_of_new_users_is_a_marker(data: RunData) -> None:
    """Sparkpool's 24 September stop of new mainland users (sparkpool-2021's headline event)
    had no marker on the time axes; the tutorial's pool stops new users on 1 May."""
    from sim.plot_series import markers

    stop = [m for m in markers(data, "") if m.date == pd.Timestamp("2021-05-01")]
    assert stop and "stops new users" in stop[0].label


def test_the_rigs_figure_says_it_is_a_mean_of_runs(data: RunData) -> None:
    """The regions figure said "(mean of N runs)", the rigs figure (also a mean) did not."""
    fig = plots.fig_rigs(data)
    assert fig is not None
    assert "(mean of 2 runs)" in fig.axes[0].get_title()


def test_a_lift_marker_names_what_was_lifted_not_its_id(data: RunData) -> None:
    """The marker over china-2021's charts read 'lifted iran-summer-ban'."""
    from sim.plot_series import _short

    scenario = {**data.scenario, "policies": [
        {"id": "iran-summer-ban", "kind": "mining_ban", "region": "red_country",
         "date": "2021-05-26"}]}
    named = RunData(data.name, scenario, data.tables, data.meta)
    assert _short(named, "lift", "Government", "", "policy 'iran-summer-ban' lifted") == \
        f"lifted ban {named.label('red_country')}"
    assert _short(named, "lift", "Government", "", "policy 'other' lifted") == "lifted other"
