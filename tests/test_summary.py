"""sim/summary.py reads the result tables as numpy arrays, not as filtered DataFrames (pandas'
overhead per operation was most of a summary's cost): the figures must stay those of the pandas
operations that define them."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import sim
from sim.batch import run_batch
from sim.summary import _rows_of, _sums, retargets, summarize


@pytest.fixture(scope="module")
def tutorial() -> tuple[sim.Scenario, list[dict[str, pd.DataFrame]]]:
    sc = sim.load("tutorial")
    return sc, run_batch(sc, 1, [0, 1])


@pytest.mark.parametrize("n", [1, 7, 100, 365, 1000, 5475])
def test_nansum_is_series_sum_to_the_bit(n: int) -> None:
    rng = np.random.default_rng(n)
    a = rng.lognormal(10.0, 3.0, n)
    a[rng.random(n) < 0.1] = np.nan
    assert np.nansum(a).tobytes() == np.float64(pd.Series(a).sum()).tobytes()


def test_relocated_rigs_are_the_groupby_sums(tutorial) -> None:
    _, (tables, _) = tutorial
    flows = tables["flows"]
    mine = flows[(flows["replicate"] == 0) & (flows["coin"] == "TUT")]
    expected = mine.groupby("destination")["rigs_departed"].sum()
    moved = _sums(flows, _rows_of(flows, 0, "TUT"), "destination", "rigs_departed")
    assert len(expected) > 1
    assert moved == {d: float(n) for d, n in expected.items()}


def test_retargets_are_read_as_pandas_reads_them() -> None:
    """Dates as the engine writes them or as read back from a file (datetime64), text that
    does not parse (NaN), another coin's retargets and other events left out."""
    events = pd.DataFrame({
        "kind": ["retarget", "retarget", "retarget", "policy", "retarget"],
        "actor": ["BTC", "BTC", "BTC", "BTC", "ETH"],
        "date": pd.to_datetime(["2021-01-05", "2021-01-19", "2021-02-02", "2021-02-03",
                                "2021-02-04"]),
        "description": ["difficulty +2.50% at height 1 (epoch of 13.0000 days)",
                        "difficulty -1.25% at height 2 (epoch of 14.5000 days)", None,
                        "difficulty +9.00%", "difficulty +3.00% (epoch of 1.0 days)"]})
    rt = retargets(events, "BTC")
    text = events["description"][:3].astype(str)
    assert [d.date() for d in rt["date"]] == [dt.date(2021, 1, 5), dt.date(2021, 1, 19),
                                              dt.date(2021, 2, 2)]
    for column, pattern in (("pct", r"difficulty ([+-][0-9.]+)%"),
                            ("epoch_days", r"epoch of ([0-9.]+) days")):
        expected = text.str.extract(pattern)[0].astype(float).to_numpy()
        np.testing.assert_array_equal(rt[column].to_numpy(), expected)
    assert np.isnan(rt["pct"].iloc[2])


def test_a_table_of_replicates_is_summarized_as_each_alone(tutorial) -> None:
    sc, runs = tutorial
    together = {name: pd.concat([r[name] for r in runs[::-1]], ignore_index=True)
                for name in runs[0]}  # replicate 1's rows first: summarized in order all the same
    alone = pd.concat([summarize(sc, r) for r in runs], ignore_index=True)
    pd.testing.assert_frame_equal(summarize(sc, together), alone, check_exact=True)
    assert list(alone["replicate"].unique()) == [0, 1]


def test_a_coin_without_pools_or_rigs_is_summarised() -> None:
    """A valid scenario may have a coin nobody mines: its summary has zeros, not a crash."""
    from test_qa3_invariants import _two_coins
    from worlds import scenario

    doc = _two_coins()
    doc["pools"] = [p for p in doc["pools"] if p["coin"] != "ETH"]
    doc["fleet"] = [f for f in doc["fleet"] if f["hardware"] != "gpu"]
    summary = sim.run(scenario(doc), seed=1, replicates=1).tables["summary"]
    eth = summary[summary["coin"] == "ETH"].set_index("metric")
    assert eth.loc["pool_hhi_after", "value"] == 0.0
    assert eth.loc["nakamoto_after", "value"] == 0
    assert eth.loc["pool_hhi_after", "date"] == "2021-04-30"  # the run's last day


def test_revenue_and_cost_by_region_are_the_leaf_regions_sums(tutorial) -> None:
    """revenue.<region> and cost.<region>: each leaf region's revenue_usd and cost_usd over the
    run (a parent region, which sums its children, is not counted again); the revenues add up
    to the network's."""
    sc, runs = tutorial
    for rep, tables in enumerate(runs):
        summary = summarize(sc, tables)
        regions, network = tables["regions"], tables["network"]
        mine = summary[summary["replicate"] == rep].set_index("metric")
        leaves = regions[(regions["replicate"] == rep) & ~regions["aggregate"]]
        for field, metric in (("revenue_usd", "revenue"), ("cost_usd", "cost")):
            expected = leaves.groupby("region")[field].sum()
            got = {m.split(".", 1)[1]: v for m, v in mine["value"].items()
                   if m.startswith(f"{metric}.")}
            assert sorted(got) == sorted(sc.leaf_regions) == list(got)
            assert got == pytest.approx({r: expected.get(r, 0.0) for r in got}, rel=1e-12)
            assert (mine.loc[[f"{metric}.{r}" for r in got], "unit"] == "USD").all()
        total = network.loc[network["replicate"] == rep, "revenue_usd"].sum()
        assert sum(got_rev for m, got_rev in mine["value"].items()
                   if m.startswith("revenue.")) == pytest.approx(total, rel=1e-9)
        assert mine.loc[[m for m in mine.index if m.startswith("cost.")], "value"].gt(0).any()
