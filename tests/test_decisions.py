"""decisions.csv: what rigs chose, by day, region and choice — the rigs that leave (ahead of a
ban, relocating, or sold to a buyer abroad) are flows.csv's departures, and summary.csv's
`decided.*` are the table's totals."""

from __future__ import annotations

import numpy as np
import pandas as pd

import sim
from sim.results import run
from sim.world import CHOICES


def test_leaving_choices_are_the_departures_and_the_summary_their_totals() -> None:
    res = run(sim.load("tutorial", ["end=2021-08-31"]), seed=2, replicates=2)
    decisions, flows = res.decisions, res.flows
    assert set(decisions["choice"]) <= set(CHOICES)
    assert {"leave_early", "relocate", "sell", "underground"} <= set(decisions["choice"])
    assert (decisions["rigs"] > 0).all()  # days with decisions only
    leaving = decisions[decisions["choice"].isin(["leave_early", "relocate", "sell"])]
    keys = ["replicate", "date", "region"]
    left = leaving.groupby(keys)["rigs"].sum()
    departed = flows.rename(columns={"origin": "region"}).groupby(keys)["rigs_departed"].sum()
    departed = departed[departed > 0]
    pd.testing.assert_series_equal(left, departed, check_names=False)
    summary = res.summary
    for rep in (0, 1):
        mine = decisions[decisions["replicate"] == rep]
        for choice in CHOICES:
            row = summary[(summary["replicate"] == rep)
                          & (summary["metric"] == f"decided.{choice}")]
            assert row["value"].item() == mine.loc[mine["choice"] == choice, "rigs"].sum()


def test_a_run_without_decisions_has_an_empty_table_and_zero_totals() -> None:
    res = run(sim.load("tutorial", ["end=2021-02-15"]), seed=2)  # before the announcement
    assert len(res.decisions) == 0
    assert list(res.decisions.columns) == ["date", "replicate", "coin", "region", "choice",
                                           "rigs"]
    decided = res.summary[res.summary["metric"].str.startswith("decided.")]
    assert list(decided["metric"]) == [f"decided.{c}" for c in CHOICES]
    assert np.all(decided["value"] == 0.0)


def test_the_figures_show_the_choices_and_skip_a_run_without_any() -> None:
    import pytest

    pytest.importorskip("matplotlib")
    pytest.importorskip("plotly")
    from sim.plots import choice_totals, fig_choices
    from sim.report import pfig_choices
    from sim.rundata import RunData

    res = run(sim.load("tutorial", ["end=2021-08-31"]), seed=2, replicates=2)
    data = RunData.from_results(res)
    totals = choice_totals(data, "")
    chose = res.decisions.groupby(["region", "choice"])["rigs"].sum() / 2
    shown = totals.stack()
    assert shown[shown > 0].sort_index().to_dict() == pytest.approx(
        chose.sort_index().to_dict())  # the mean over the two runs, region by choice
    assert list(totals.index) == list(totals.sum(axis=1).sort_values(ascending=False).index)
    assert fig_choices(data) is not None and pfig_choices(data) is not None
    quiet = RunData.from_results(run(sim.load("tutorial", ["end=2021-02-15"]), seed=2))
    assert fig_choices(quiet) is None and pfig_choices(quiet) is None


def test_the_report_offers_rigs_by_status_region_by_region() -> None:
    """In the world's total Iran's rigs were a sliver: the report now draws one region at a
    time, from a menu of the regions a ban hit (hardest first)."""
    import pytest

    pytest.importorskip("plotly")
    from sim.report import pfig_rigs_by_region
    from sim.rundata import RunData

    res = run(sim.load("iran-2021", ["end=2021-10-15"]), seed=1)
    fig = pfig_rigs_by_region(RunData.from_results(res))
    (menu,) = fig.layout.updatemenus
    assert [b.label for b in menu.buttons] == ["Iran"]  # the only region a ban hit
    assert len(fig.data) == 7 and all(t.visible for t in fig.data)  # its seven statuses
    online = next(t for t in fig.data if t.meta == "online")
    iran = res.regions[res.regions["region"] == "iran"]
    assert list(online.y) == list(iran["rigs_online"].astype(float))
    quiet = RunData.from_results(run(sim.load("tutorial", ["end=2021-02-15"]), seed=2))
    assert pfig_rigs_by_region(quiet) is None  # no ban hit anyone


def test_each_menu_entry_shows_its_own_region_alone() -> None:
    import pytest

    pytest.importorskip("plotly")
    from sim.report import pfig_rigs_by_region
    from sim.rundata import RunData

    res = run(sim.load("tutorial", ["end=2021-06-30"]), seed=2)
    fig = pfig_rigs_by_region(RunData.from_results(res))
    buttons = fig.layout.updatemenus[0].buttons
    assert {b.label for b in buttons} == {"Highland (Red Country)", "Plains (Red Country)"}
    for i, button in enumerate(buttons):
        visible = button.args[0]["visible"]
        assert len(visible) == len(fig.data) and sum(visible) == 7  # one region's statuses
        assert visible[7 * i: 7 * i + 7] == [True] * 7
