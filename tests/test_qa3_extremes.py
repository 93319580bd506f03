"""QA pass 3, extremes: valid scenarios at the edges of their parameters must run to the end
with finite, non-negative, conserved tables (or be refused by validation with a message),
never crash, overflow or give a silent nonsense result.

Small hand-made worlds (tests/worlds.py) and the tutorial; one run per case, each well under
a second. The defects found are kept as strict xfails, each naming its cause.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

import sim
from sim.errors import ScenarioError
from sim.results import Results, run
from sim.state import STATUS_NAMES
from sim.validation import loads
from tests.worlds import three_regions

RIG_COLUMNS = [f"rigs_{s}" for s in STATUS_NAMES]
TOTAL = 8000  # rigs of three_regions()
# the columns results/README.md allows to be empty
MAY_BE_EMPTY = {("network", "mean_block_time_s"), ("summary", "value"), ("summary", "date"),
                ("events", "region"), ("events", "actor")}


# ------------------------------------------------------------------------------ helpers

def _validate(doc: dict[str, Any]) -> sim.Scenario:
    """Full validation (schema and references), as a file would get it."""
    return loads(json.dumps(doc), filename="<qa3-extremes>")


def _run(doc: dict[str, Any], seed: int = 1, rig: bool = False) -> Results:
    doc = copy.deepcopy(doc)
    if rig:
        doc["resolution"] = "rig"
    return run(_validate(doc), seed=seed)


def _assert_sane(res: Results, total: int | None = TOTAL) -> None:
    """Finite, non-negative tables; leaf rig counts conserved; leaf shares sum to 1 or 0."""
    for name, df in res.tables.items():
        for col in df.columns:
            values = df[col]
            if values.dtype.kind not in "fiu":
                continue
            v = values.to_numpy(dtype=float)
            assert not np.isinf(v).any(), f"{name}.{col} holds inf"
            if (name, col) not in MAY_BE_EMPTY:
                assert not np.isnan(v).any(), f"{name}.{col} holds NaN"
            if name != "summary":
                assert (v[~np.isnan(v)] >= 0).all(), f"{name}.{col} negative: {np.nanmin(v)}"
    leaves = res.regions[~res.regions["aggregate"]]
    per_day = leaves.groupby(["replicate", "date"])[RIG_COLUMNS].sum().sum(axis=1)
    if total is not None:
        assert (per_day == total).all(), f"rigs not conserved: {sorted(set(per_day))[:5]}"
    share = leaves.groupby(["replicate", "date", "coin"])["share"].sum().to_numpy()
    assert np.all((np.abs(share - 1.0) < 1e-9) | (share == 0.0))
    flows = res.flows
    if len(flows):
        assert flows["rigs_arrived"].sum() <= flows["rigs_departed"].sum()


def _leaf(res: Results, region: str) -> pd.DataFrame:
    reg = res.regions
    return reg[(reg["region"] == region) & ~reg["aggregate"]].reset_index(drop=True)


def _totals(res: Results) -> pd.Series:
    leaves = res.regions[~res.regions["aggregate"]]
    return leaves.groupby("date")[RIG_COLUMNS].sum().iloc[-1]


def _metric(res: Results, metric: str) -> float:
    s = res.summary
    return float(s.loc[s["metric"] == metric, "value"].iloc[0])


def _ban(**kw: Any) -> dict[str, Any]:
    return {"kind": "mining_ban", "id": "ban", "date": "2021-02-01", "region": "a",
            "hazard_per_day": 0.3, **kw}


def _world(policies: list[dict[str, Any]] | None = None, behaviour: dict[str, Any] | None = None,
           coin: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    doc = three_regions(**top)
    doc["policies"] = policies if policies is not None else [_ban()]
    if behaviour is not None:
        doc["behaviour"] = behaviour
    if coin:
        doc["coins"][0].update(coin)
    return doc


def _refused_or_sane(doc: dict[str, Any], total: int | None = TOTAL) -> None:
    """An extreme value must be refused by validation, or run to sane tables."""
    try:
        scenario = _validate(doc)
    except ScenarioError:
        return
    _assert_sane(run(scenario, seed=1), total)


def _d(text: str) -> dt.date:
    """The tables' `date` column holds datetime.date values."""
    return dt.date.fromisoformat(text)


TRACKING = {"rule": "tracking", "block_time_s": 13.0, "subsidy_coins": 0.15,
            "blocks_into_epoch": None}
OPTIONS = ("relocate", "underground", "hibernate", "sell", "retire")


# ------------------------------------------------------------------------------ enforcement

@pytest.mark.parametrize("rig", [False, True], ids=["cohort", "rig"])
def test_hazard_50_per_day_on_day_0_stops_every_rig_of_the_region(rig: bool) -> None:
    res = _run(_world([_ban(date="2021-01-01", hazard_per_day=50.0,
                            underground_detection_per_day=0.0)]), rig=rig)
    _assert_sane(res)
    a = _leaf(res, "a")
    assert a["rigs_online"].max() == 0
    # undetectable underground mining is all that is left of the region's hashrate
    assert (a["hashrate_hs"] == a["rigs_underground"] * 1e14).all()
    assert a["rigs_underground"].iloc[-1] > 0


@pytest.mark.parametrize("ramp", [0.0, 1e300])
def test_ramp_days_at_both_ends(ramp: float) -> None:
    res = _run(_world([_ban(ramp_days=ramp, underground_detection_per_day=1e6)]))
    _assert_sane(res)
    forced = _leaf(res, "a")["rigs_banned_off"].max()
    if ramp == 0.0:
        assert forced > 0
    else:  # a ramp of 1e300 days never reaches any strength within the run
        assert forced == 0 and _leaf(res, "a")["rigs_online"].iloc[-1] == 4000


def test_ban_and_its_lift_both_on_day_0_force_nothing() -> None:
    res = _run(_world([_ban(date="2021-01-01", hazard_per_day=50.0),
                       {"kind": "lift", "policy": "ban", "date": "2021-01-01"}]))
    _assert_sane(res)
    assert res.network["hashrate_hs"].min() == 8e17
    assert _totals(res)["rigs_banned_off"] == 0


def test_nested_bans_and_lifts_on_country_province_and_leaf() -> None:
    doc = three_regions()
    doc["regions"] = [
        {"name": "country", "electricity_usd_per_kwh": 0.05, "carbon_g_per_kwh": 500.0},
        {"name": "prov", "parent": "country", "electricity_usd_per_kwh": 0.05,
         "carbon_g_per_kwh": 500.0},
        {"name": "a", "parent": "prov", "electricity_usd_per_kwh": 0.05,
         "carbon_g_per_kwh": 500.0},
        {"name": "a2", "parent": "country", "electricity_usd_per_kwh": 0.05,
         "carbon_g_per_kwh": 500.0},
        *doc["regions"][1:]]
    for route in doc["routes"]:
        route["origin"] = "country"
    doc["fleet"].append({"region": "a2", "hardware": "rig", "rigs": 500, "pool": "p1"})
    doc["policies"] = [
        _ban(id="b1", region="country", underground_detection_per_day=0.01),
        _ban(id="b2", region="prov", hazard_per_day=1.0),
        _ban(id="b3", region="a", hazard_per_day=50.0, underground_detection_per_day=0.5),
        {"kind": "lift", "policy": "b2", "date": "2021-02-10"},
        {"kind": "lift", "policy": "b1", "date": "2021-02-20"},
        {"kind": "power_outage", "id": "o", "date": "2021-02-05", "region": "country",
         "days": 20.0, "share": 0.5, "return_days": 10.0}]
    res = _run(doc)
    _assert_sane(res, TOTAL + 500)
    reg = res.regions
    country = reg[reg["region"] == "country"].set_index("date")
    kids = reg[reg["region"].isin(["a", "a2"])].groupby("date")[RIG_COLUMNS].sum()
    pd.testing.assert_frame_equal(country[RIG_COLUMNS], kids, check_dtype=False)
    # b3 stays in force on `a`; `a2` is free again once b1 is lifted
    assert _leaf(res, "a")["rigs_online"].iloc[-1] == 0


# ------------------------------------------------------------------------------ decisions

@pytest.mark.parametrize("value", [50.0, -50.0, 1e300, -1e300])
@pytest.mark.parametrize("option", OPTIONS)
def test_behaviour_constants_far_out_do_not_overflow_the_logit(option: str, value: float
                                                               ) -> None:
    constants = {o: 0.0 for o in OPTIONS}
    constants[option] = value
    res = _run(_world([_ban(underground_detection_per_day=0.05)],
                      {"constants": constants}))
    _assert_sane(res)
    if value > 0 and option == "retire":
        assert _totals(res)["rigs_retired"] > 3900


@pytest.mark.parametrize("rate", [0.0, 1e-6, 1.0])
def test_decision_rate_at_its_bounds(rate: float) -> None:
    res = _run(_world(behaviour={"decision_rate_per_day": rate}))
    _assert_sane(res)
    if rate == 0.0:  # nobody decides: every forced-off rig stays forced off
        assert res.flows.empty and _totals(res)["rigs_banned_off"] == 4000


@pytest.mark.parametrize("behaviour", [
    {"resale_fraction": 0.0, "constants": {"sell": 5.0}},
    {"resale_fraction": 1.0, "constants": {"sell": 5.0}, "sell_delay_days": 0.0},
    {"profit_scale_usd": 1e-300},
    {"profit_scale_usd": 1e300},
    {"risk_aversion": 1e300},
    {"horizon_days": 1e-300},
    {"hibernate_days": 1e-300},
    {"scrap_usd": 1e300},
    {"capacity_lookahead_days": 0.0},
    {"switch_off_margin": -1e300, "switch_on_margin": 1e300},
    {"destinations": []},
], ids=lambda b: ",".join(f"{k}={v}" for k, v in b.items()))
def test_behaviour_extremes_run_sane(behaviour: dict[str, Any]) -> None:
    _assert_sane(_run(_world([_ban(underground_detection_per_day=0.05)], behaviour)))


# ------------------------------------------------------------------------------ coins and prices

def test_price_crash_to_near_zero_and_back_bitcoin_rule() -> None:
    price = {"kind": "table", "interpolation": "step", "points": [
        {"date": "2021-01-01", "usd": 1000.0}, {"date": "2021-02-01", "usd": 1e-9},
        {"date": "2021-03-01", "usd": 1000.0}]}
    res = _run(_world([], coin={"price": price}))
    _assert_sane(res)
    hashrate = res.network.set_index("date")["hashrate_hs"]
    assert hashrate[_d("2021-02-10")] == 0.0  # unprofitable: every rig off
    assert hashrate[_d("2021-03-10")] == 8e17  # profitable again: every rig back


@pytest.mark.parametrize("coin", [
    {"price": {"kind": "constant", "usd": 5e-324}},
    {"price": {"kind": "constant", "usd": 1e12}},
    {"fees_per_block_coins": 0.0, "subsidy_coins": 1e-300},
    {"price": {"kind": "gbm", "initial_usd": 1000.0, "volatility_per_year": 10.0}},
    {"price": {"kind": "gbm", "initial_usd": 1e12, "drift_per_year": 10.0,
               "volatility_per_year": 0.0}},
    {"max_adjustment_factor": 1.0},
    {"initial_difficulty": 1e300},
    {"retarget_blocks": 1_000_000_000_000, "blocks_into_epoch": 999_999_999_999},
], ids=["price-5e-324", "price-1e12", "subsidy-1e-300", "gbm-vol10", "gbm-drift10", "clamp-1",
        "difficulty-1e300", "epoch-1e12"])
def test_coin_extremes_run_sane(coin: dict[str, Any]) -> None:
    _assert_sane(_run(_world(coin=coin)))


def test_ten_years_across_halvings() -> None:
    res = _run(_world([], coin={"halving_interval_blocks": 210_000, "initial_height": 200_000,
                                "blocks_into_epoch": None, "subsidy_coins": 50.0,
                                "fees_per_block_coins": 0.0}, end="2030-12-31"))
    _assert_sane(res)
    net = res.network
    per_block = (net["revenue_usd"] / net["blocks"] / net["price_usd"]).to_numpy()
    first, last = per_block[0], per_block[-1]
    assert first == 50.0 and last in (50.0 / 8, 50.0 / 16)  # three or four halvings
    assert _metric(res, "retargets") > 200


def test_halving_every_block_leaves_nothing_to_mine_and_no_nan() -> None:
    res = _run(_world([], coin={"halving_interval_blocks": 1, "subsidy_coins": 50.0,
                                "fees_per_block_coins": 0.0}))
    _assert_sane(res)
    net = res.network
    assert net["revenue_usd"].iloc[0] == pytest.approx(50_000.0)  # 25 + 12.5 + … coins
    assert net["hashrate_hs"].iloc[-1] == 0.0


@pytest.mark.parametrize("rig", [False, True], ids=["cohort", "rig"])
def test_two_day_run_with_a_ban_on_day_0(rig: bool) -> None:
    res = _run(_world([_ban(date="2021-01-01", hazard_per_day=1.0)], end="2021-01-02"),
               rig=rig)
    _assert_sane(res)
    assert len(res.network) == 2
    assert _metric(res, "retargets") == 0.0


def test_a_one_day_run_is_refused_with_a_message() -> None:
    with pytest.raises(ScenarioError, match=r"end .* must be after start"):
        _validate(_world(end="2021-01-01"))


# ------------------------------------------------------------------------------ outages

@pytest.mark.parametrize("days", [1e-9, 1e6, 1e300, None])
def test_outage_from_an_instant_to_longer_than_the_run(days: float | None) -> None:
    res = _run(_world([{"kind": "power_outage", "id": "o", "date": "2021-02-01",
                        "region": "a", "days": days}]))
    _assert_sane(res)
    a = _leaf(res, "a").set_index("date")
    if days is None or days >= 1e6:
        assert a.loc[_d("2021-02-01"):, "hashrate_hs"].max() == 0.0
    else:
        assert a["hashrate_hs"].iloc[-1] == 4e17


def test_outage_lifted_on_its_own_day_0() -> None:
    res = _run(_world([{"kind": "power_outage", "id": "o", "date": "2021-01-01", "region": "a"},
                       {"kind": "lift", "policy": "o", "date": "2021-01-01"}]))
    _assert_sane(res)
    assert res.network["hashrate_hs"].min() == 8e17


# ------------------------------------------------------------------------------ capacity, routes

@pytest.mark.parametrize(("capacity", "at_least"), [(1e300, 4000), (0.5, 40)])
def test_route_capacities_at_their_extremes(capacity: float, at_least: int) -> None:
    """A huge capacity lets all of a's 4,000 rigs move. 0.5 rigs a day moved no rig at all
    (the day's capacity was floored, never carried): now one every other day, ~89 days × 2
    routes × 0.5."""
    doc = _world(behaviour={"constants": {"relocate": 3.0}})
    for route in doc["routes"]:
        route["capacity_rigs_per_day"] = capacity
    res = _run(doc)
    _assert_sane(res)
    assert res.flows["rigs_departed"].sum() >= at_least


def test_initial_fleet_over_capacity_zero_is_refused() -> None:
    doc = _world()
    for region in doc["regions"]:
        region["capacity_mw"] = 0.0
    with pytest.raises(ScenarioError, match="more than capacity_mw"):
        _validate(doc)


def test_destination_capacity_dropping_to_zero_blocks_relocation() -> None:
    doc = _world(behaviour={"constants": {"relocate": 3.0}})
    for region in doc["regions"][1:]:
        region.update(capacity_mw=100.0, capacity_schedule=[{"date": "2021-01-15", "mw": 0.0}])
    res = _run(doc)
    _assert_sane(res)
    assert res.flows.empty


@pytest.mark.parametrize("transit", [
    {"distribution": "fixed", "days": 0.0},
    {"distribution": "fixed", "days": 3650.0},  # the longest allowed (MAX_TRANSIT_DAYS)
    {"distribution": "uniform", "low_days": 0.0, "high_days": 1e6},
    {"distribution": "lognormal", "median_days": 1e-300, "sigma": 1e-300},
    {"distribution": "lognormal", "median_days": 10.0, "sigma": 1e300},
    {"distribution": "lognormal", "median_days": 1e300, "sigma": 1.0},
    {"distribution": "gamma", "mean_days": 10.0, "shape": 1e-300},
    {"distribution": "gamma", "mean_days": 10.0, "shape": 1e300},
    {"distribution": "triangular", "low_days": 0.0, "mode_days": 0.0, "high_days": 1e6},
], ids=lambda t: "-".join(str(v) for v in t.values()))
def test_transit_distributions_at_their_extremes(transit: dict[str, Any]) -> None:
    doc = _world(behaviour={"constants": {"relocate": 3.0}})
    for route in doc["routes"]:
        route["transit"] = transit
    res = _run(doc)
    _assert_sane(res)
    assert res.flows["rigs_departed"].sum() > 3000


@pytest.mark.parametrize("rig", [False, True], ids=["cohort", "rig"])
def test_one_rig_in_the_whole_world(rig: bool) -> None:
    doc = _world([_ban(hazard_per_day=50.0, underground_detection_per_day=50.0)],
                 {"constants": {"relocate": 3.0}})
    doc["fleet"] = [{"region": "a", "hardware": "rig", "rigs": 1, "pool": "p1"}]
    res = _run(doc, rig=rig)
    _assert_sane(res, total=1)
    assert res.network["hashrate_hs"].max() == 1e14


# ------------------------------------------------------------------------------ pools

def test_the_only_pool_shutting_on_day_0_strands_everyone_without_nan() -> None:
    doc = _world([])
    doc["pools"][0]["events"] = [{"kind": "shutdown", "date": "2021-01-01"}]
    res = _run(doc)
    _assert_sane(res)
    assert res.network["hashrate_hs"].max() == 0.0
    assert _metric(res, "pool_hhi_after") == 0.0 and _metric(res, "nakamoto_after") == 0.0


@pytest.mark.parametrize("rig", [False, True], ids=["cohort", "rig"])
def test_a_pool_holding_everything_shuts_on_day_0_miners_move_to_the_other(rig: bool) -> None:
    doc = _world([])
    doc["pools"][0]["events"] = [{"kind": "shutdown", "date": "2021-01-01"}]
    doc["pools"].append({"name": "p2", "coin": "BTC", "fee": 0.03})
    res = _run(doc, rig=rig)
    _assert_sane(res)
    assert res.network["hashrate_hs"].min() == 8e17
    pools = res.pools.set_index(["date", "pool"])["share"]
    assert pools[(_d("2021-01-01"), "p2")] == 1.0


def test_every_pool_shut_down() -> None:
    doc = _world([])
    doc["pools"][0]["events"] = [{"kind": "shutdown", "date": "2021-02-01",
                                  "wind_down_days": 1}]
    doc["pools"].append({"name": "p2", "coin": "BTC", "fee": 0.03,
                         "events": [{"kind": "shutdown", "date": "2021-02-01"}]})
    res = _run(doc)
    _assert_sane(res)
    assert res.network.set_index("date").loc[_d("2021-02-10"):, "hashrate_hs"].max() == 0.0


# ------------------------------------------------------------------------ purchases, facilities

def test_purchase_of_a_million_rigs_a_day_is_counted_exactly() -> None:
    doc = _world([])
    doc["purchases"] = [{"region": "b", "hardware": "rig", "pool": "p1",
                         "start": "2021-01-01", "end": "2021-04-30", "rigs_per_day": 1e6}]
    res = _run(doc)
    _assert_sane(res, total=None)
    assert _totals(res).sum() == TOTAL + 119 * 1_000_000


def test_facility_of_zero_mw_keeps_its_orders_queued() -> None:
    doc = _world([])
    doc["facilities"] = [{"name": "f", "region": "b", "mode": "hosting",
                          "capacity": [{"date": "2021-01-01", "mw": 0.0}],
                          "orders": [{"date": "2021-01-05", "hardware": "rig", "rigs": 100,
                                      "pool": "p1"}]}]
    res = _run(doc)
    _assert_sane(res, total=None)
    assert _totals(res)["rigs_queued"] == 100
    fac = res.facilities
    assert fac["rigs"].max() == 0 and fac["used_mw"].max() == 0.0


# ------------------------------------------------------------------------------ the tutorial

@pytest.mark.parametrize("overrides", [
    ["policies.ban.hazard_per_day=50", "policies.ban.ramp_days=0"],
    ["policies.ban.underground_detection_per_day=0", "behaviour.decision_rate_per_day=1.0"],
    ["coins.TUT.price.usd=1e-9"],
    ["routes.1.capacity_rigs_per_day=1", "behaviour.capacity_lookahead_days=0"],
    ["regions.blue_country.capacity_mw=null", "behaviour.resale_fraction=1"],
], ids=["hazard50-ramp0", "detect0-decide1", "price1e-9", "routecap1", "uncapped-resale1"])
def test_tutorial_extremes(overrides: list[str]) -> None:
    res = run(sim.load("tutorial", overrides), seed=1)
    _assert_sane(res, total=None)


# --------------------------------------------------- defects this pass found (fixed since)

def test_tracking_chain_comes_back_after_a_total_outage() -> None:
    """A tracking coin's hashprice was 0 while nothing mined, so after a grid-wide outage no
    rig ever saw a margin again and the chain stayed dead (bitcoin's came back)."""
    res = _run(_world([{"kind": "power_outage", "id": f"o{r}", "date": "2021-02-01",
                        "region": r, "days": 10.0} for r in "abc"], coin=TRACKING))
    _assert_sane(res)
    net = res.network.set_index("date")
    assert net.loc[dt.date(2021, 2, 5), "hashrate_hs"] == 0.0  # dark
    assert net.loc[dt.date(2021, 2, 11), "hashrate_hs"] > 0.0  # power back: mining again


def test_a_sell_delay_past_int32_is_refused() -> None:
    """A sell delay of 3e9 days wrapped in the int32 timers: sold rigs arrived at once while
    flows.csv said none did. Waits are capped at a century (MAX_WAIT_DAYS)."""
    with pytest.raises(ScenarioError, match="sell_delay_days"):
        _validate(_world(behaviour={"sell_delay_days": 3e9, "constants": {"sell": 50.0}}))
    res = _run(_world(behaviour={"sell_delay_days": 36_500.0, "constants": {"sell": 50.0}}))
    _assert_sane(res)
    assert res.flows["rigs_arrived"].sum() == 0 and res.flows["rigs_departed"].sum() > 0


@pytest.mark.parametrize("case", ["hibernate", "suspend"])
def test_timers_past_int32_are_refused_or_run(case: str) -> None:
    """3e9 days of hibernation or suspension raised OverflowError in the int32 timers."""
    if case == "hibernate":
        doc = _world(behaviour={"hibernate_days": 3e9, "constants": {"hibernate": 50.0}})
    else:
        doc = _world([{"kind": "announcement", "id": "an", "date": "2021-01-10", "region": "a",
                       "risk": 0.0, "suspend_rate_per_day": 0.5, "suspend_days": 3e9}])
    _refused_or_sane(doc)


@pytest.mark.parametrize("case", ["fixed-transit", "return-days"])
def test_huge_durations_are_refused_or_run(case: str) -> None:
    """A fixed transit of 1e300 days ('negative dimensions'; 1e8 days hung) and a partial
    outage returning over 1e300 days ('Maximum allowed dimension exceeded') crashed."""
    if case == "fixed-transit":
        doc = _world(behaviour={"constants": {"relocate": 3.0}})
        for route in doc["routes"]:
            route["transit"] = {"distribution": "fixed", "days": 1e300}
    else:
        doc = _world([{"kind": "power_outage", "id": "o", "date": "2021-02-01", "region": "a",
                       "days": 10.0, "share": 0.5, "return_days": 1e300}])
    _refused_or_sane(doc)


def test_purchase_rate_beyond_int64_is_refused() -> None:
    """1e18 rigs a day overflowed int64 counts into negative rigs_offline."""
    doc = _world([])
    doc["purchases"] = [{"region": "b", "hardware": "rig", "pool": "p1",
                         "start": "2021-01-01", "end": "2021-04-30", "rigs_per_day": 1e18}]
    _refused_or_sane(doc, total=None)


# ---------------------------------------------------------------- known limits (not fixed)

def test_a_difficulty_that_would_overflow_the_days_blocks_is_refused() -> None:
    # (an initial_difficulty of 1e-6 made the day's Poisson mean exceed numpy's limit:
    # 'lam value too large'; validation now bounds the first day's blocks)
    _refused_or_sane(_world(coin={"initial_difficulty": 1e-6}))


@pytest.mark.parametrize("price", [
    {"kind": "constant", "usd": 1.7e308},
    {"kind": "table", "points": [{"date": "2021-01-01", "usd": 1e300}]},
    {"kind": "gbm", "initial_usd": 1e13, "volatility_per_year": 0.5},
    {"kind": "gbm", "initial_usd": 1000.0, "volatility_per_year": 1000.0},
    {"kind": "gbm", "initial_usd": 1000.0, "drift_per_year": 1e6, "volatility_per_year": 0.5},
])
def test_an_overflowing_price_is_refused(price: dict[str, Any]) -> None:
    """A price of 1.7e308 made revenue inf and the relocation logit NaN (a traceback:
    'pvals … contains NaNs'); a GBM of σ = 1,000 a year sent the price to 0 on day one.
    Prices are capped at MAX_PRICE_USD, GBM drift and volatility at MAX_GBM_PER_YEAR."""
    with pytest.raises(ScenarioError, match="price"):
        _validate(_world(coin={"price": price}))

