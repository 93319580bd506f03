"""The bundled real-history scenarios held against what was observed.

Each test runs a bundled scenario with its own seed and asserts on the backtest table
(`sim.backtest.evaluate`), not on an exit code: a band that stops holding fails here. The
scenarios, their sources and the calibration record are in docs/scenarios.md; the report that
shows the same tables with figures is docs/validation.md (scripts/validation_report.py).
"""

from __future__ import annotations

import datetime as dt
from typing import cast

import pandas as pd
import pytest

import sim
from sim.backtest import evaluate
from sim.results import Results, run
from sim.scenario import Scenario

#: Replicates of the china-2021 backtest. Hash-rate levels are nearly deterministic at 4 M rigs
#: (5-95 % ranges within a few percent); retargets are not — block luck moves each by 3-4
#: points between replicates — so a retarget band near its edge may flip with the seed.
CHINA_REPLICATES = 2

#: Headline checks the model is known to miss, with the mechanism it lacks (docs/scenarios.md,
#: "What the calibrated model does not reproduce"). Each has an xfail(strict) test below, so
#: the day one starts to hold, the suite says so.
KNOWN_MISSES = {
    "retarget-2021-05-30": "the hash rate fell ~15 % from 14 May, a week before the State "
                           "Council's call; the model's decline starts with the call",
}


def _backtest(name: str, replicates: int, overrides: tuple[str, ...] = ()
              ) -> tuple[Scenario, Results, pd.DataFrame]:
    scenario = sim.load(name, overrides)
    results = run(scenario, replicates=replicates, command=[])
    return scenario, results, evaluate(scenario, results.tables).set_index("check")


@pytest.fixture(scope="module")
def china() -> tuple[Scenario, Results, pd.DataFrame]:
    return _backtest("china-2021", CHINA_REPLICATES)


@pytest.fixture(scope="module")
def sparkpool() -> tuple[Scenario, Results, pd.DataFrame]:
    return _backtest("sparkpool-2021", 3)


def _missed(table: pd.DataFrame, tier: str, skip: dict[str, str] | None = None) -> list[str]:
    rows = table[(table["tier"] == tier) & ~table.index.isin(list(skip or {}))]
    assert len(rows), f"no {tier} checks"
    return [f"{check}: simulated {row['simulated']} outside [{row['low']}, {row['high']}]"
            for check, row in rows.iterrows() if not _held(row["within_band"])]


def _held(within_band: object) -> bool:
    return within_band is not None and bool(within_band)


def _share(results: Results, region: str, day: str, replicate: int = 0) -> float:
    reg = results.tables["regions"]
    row = reg[(reg["region"] == region) & (reg["replicate"] == replicate)
              & (reg["date"] == dt.date.fromisoformat(day))]
    assert len(row) == 1, (region, day)
    return float(row["share"].iloc[0])


def _mean7(results: Results, replicate: int = 0) -> pd.Series:
    net = results.tables["network"]
    net = net[net["replicate"] == replicate]
    return pd.Series(net["hashrate_hs"].rolling(7, min_periods=1).mean().to_numpy(),
                     index=pd.to_datetime(net["date"]))


# ---------------------------------------------------------------------------------- china-2021
def test_china_2021_headline_bands_hold(china: tuple[Scenario, Results, pd.DataFrame]) -> None:
    _, _, table = china
    # the headline checks of the issue: trough ~85 EH/s around 2 July, the -28 % retarget and
    # the slow epoch before it, the mid-June drop, China's share from September, the recovery
    for check in ("trough", "trough date", "retarget-2021-07-03", "block-time-before-retarget",
                  "retarget-2021-06-13", "share-china-2021-09-30", "share-china-2022-01-31",
                  "recovery", "hashrate-2021-05-13"):
        assert table.loc[check, "tier"] == "headline", check
    assert _missed(table, "headline", KNOWN_MISSES) == []


@pytest.mark.xfail(strict=True, reason=KNOWN_MISSES["retarget-2021-05-30"])
def test_china_2021_late_may_retarget(china: tuple[Scenario, Results, pd.DataFrame]) -> None:
    _, _, table = china
    assert _held(table.loc["retarget-2021-05-30", "within_band"])


def test_china_2021_secondary_bands_mostly_hold(
        china: tuple[Scenario, Results, pd.DataFrame]) -> None:
    # Known secondary misses (docs/scenarios.md): the +21.5 % retarget of 13 May (the early-May
    # peak after the April outage is missing) and, depending on the epoch phase, 17 July.
    _, _, table = china
    assert len(_missed(table, "secondary")) <= 3


def test_china_2021_hashrate_path(china: tuple[Scenario, Results, pd.DataFrame]) -> None:
    _, results, table = china
    trough = cast(float, table.loc["trough", "simulated"])
    assert 70e18 <= trough <= 100e18
    mean7 = _mean7(results)
    may = float(mean7.loc["2021-05-13"])
    assert trough < 0.6 * may  # a real trough, not a dip
    assert float(mean7.loc["2022-03-31"]) > may  # back above the May level by the end


def test_china_2021_underground_reappears(china: tuple[Scenario, Results, pd.DataFrame]) -> None:
    # Near zero at the trough, China's share comes back with underground mining (CBECI: ~22 %
    # from September 2021, hidden behind VPNs); detection is slow, so it stays into 2022.
    _, results, _ = china
    at_trough, september = _share(results, "china", "2021-07-05"), \
        _share(results, "china", "2021-09-30")
    assert at_trough < 0.10
    assert september > 2 * at_trough
    assert _share(results, "china", "2022-01-31") > 0.10


def test_china_2021_without_underground_china_goes_to_zero() -> None:
    # The same scenario with going underground not an option: China's share is near zero by
    # the end of July 2021 and stays there.
    _, results, _ = _backtest(
        "china-2021", 1, ("policies.state-council-ban.underground_detection_per_day=null",))
    assert _share(results, "china", "2021-07-31") < 0.01
    assert _share(results, "china", "2022-01-31") < 0.01


def test_china_2021_destinations_are_outputs() -> None:
    # Where the rigs go is decided by the model: no destination's share is an input, and no
    # capacity or purchase is set per destination from an observed share. What the scenario
    # may fix is growth the same for every assumed build-out; check the factor is uniform.
    scenario = sim.load("china-2021")
    growth = {}
    for region in scenario.regions:
        steps = region.capacity_schedule
        if region.name == "kazakhstan" or not steps or region.capacity_mw is None:
            continue  # Kazakhstan's 500 -> 1,500 MW is sourced
        growth[region.name] = (steps[-1].mw - region.capacity_mw) / len(steps)
    first_draft = {"texas": 150, "rest_of_us": 110, "russia": 60, "canada": 40,
                   "rest_of_world": 70}
    factors = {name: growth[name] / first_draft[name] for name in first_draft}
    assert max(factors.values()) - min(factors.values()) < 0.01, factors


# ------------------------------------------------------------------------------- no-ban-2021
def test_no_ban_keeps_china_high_and_has_no_trough(
        china: tuple[Scenario, Results, pd.DataFrame]) -> None:
    results = run(sim.load("no-ban-2021"), replicates=1, command=[])
    for day in ("2021-05-13", "2021-07-02", "2021-09-30", "2021-12-31"):
        assert _share(results, "china", day) > 0.40, day
    mean7 = _mean7(results)
    may = float(mean7.loc["2021-05-13"])
    summer = mean7.loc["2021-06-01":"2021-08-31"]
    assert float(summer.min()) > 0.95 * may  # Iran's summer ban is the only dip
    assert float(mean7.loc["2021-12-31"]) > may
    crackdown = _mean7(china[1]).loc["2021-06-01":"2021-08-31"]
    assert float(crackdown.min()) < 0.7 * float(summer.min())


# ---------------------------------------------------------------------------- sparkpool-2021
def test_sparkpool_headline_bands_hold(sparkpool: tuple[Scenario, Results, pd.DataFrame]) -> None:
    _, _, table = sparkpool
    for check in ("share-sparkpool-2021-09-26", "share-sparkpool-2021-10-01", "closure-change"):
        assert table.loc[check, "tier"] == "headline", check
    assert _missed(table, "headline") == []
    assert abs(cast(float, table.loc["closure-change", "simulated"])) < 5.0  # percent


def test_sparkpool_others_absorb_its_miners(
        sparkpool: tuple[Scenario, Results, pd.DataFrame]) -> None:
    _, results, _ = sparkpool
    pools = results.tables["pools"]
    pools = pools[pools["replicate"] == 0]
    before = pools[pools["date"] == dt.date(2021, 9, 23)].set_index("pool")["share"]
    after = pools[pools["date"] == dt.date(2021, 10, 7)].set_index("pool")["share"]
    assert after["sparkpool"] == 0.0
    assert after.sum() == pytest.approx(1.0)
    for pool in ("ethermine", "hiveon", "nanopool", "others"):
        assert after[pool] > before[pool], pool
    table = results.tables["summary"]
    summary = table[table["replicate"] == 0].set_index("metric")["value"]
    for metric in ("pool_hhi_before", "pool_hhi_after", "nakamoto_before", "nakamoto_after"):
        assert metric in summary.index
    assert summary["pool_hhi_after"] > summary["pool_hhi_before"]


# ------------------------------------------------------------------------ wuhan-general-2018
def test_wuhan_general_headline_bands_hold_and_books_answer_the_claim() -> None:
    _, results, table = _backtest("wuhan-general-2018", 2)
    assert _missed(table, "headline") == []
    fac = results.tables["facilities"]
    fac = fac[(fac["replicate"] == 0) & (fac["facility"] == "wuhan-general")]
    month = pd.to_datetime(fac["date"]).dt.to_period("M")
    revenue = fac.groupby(month)["revenue_usd"].sum()
    # 1,300 rigs at 2018 prices earn a tenth of the claimed 3.5 M USD a month ...
    assert revenue.loc["2018-11":"2019-03"].max() < 0.5e6
    # ... the 30 MW build-out brings it to the claim's order only in 2019
    assert revenue.loc["2019-07":"2019-12"].max() > 2.5e6
