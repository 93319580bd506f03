"""The model on hand-computed 2–3-region worlds (tests/worlds.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim import theory
from sim.results import run
from tests.worlds import scenario, three_regions

ALPHA = 1e-3
Z = stats.norm.isf(ALPHA / 2)
ONLY_RELOCATE = {"constants": {"underground": -50, "hibernate": -50, "sell": -50,
                               "retire": -50},
                 "decision_rate_per_day": 1.0, "capacity_lookahead_days": 0}


def leaf(regions, region: str, column: str) -> np.ndarray:  # type: ignore[no-untyped-def]
    return regions.loc[regions["region"] == region, column].to_numpy()


def test_frictionless_ban_rescales_the_others_by_one_over_one_minus_s() -> None:
    # a holds s_b = 0.5 of the rigs; b and c have free capacity in proportion to their
    # hashrate (3:1), so once a's rigs have moved, b and c hold 1/(1 − s_b) of their shares.
    doc = three_regions(policies=[{"kind": "power_cutoff", "region": "a",
                                   "date": "2021-01-05"}], behaviour=ONLY_RELOCATE)
    doc["regions"][1]["capacity_mw"] = 6000 * 3000 / 1e6
    doc["regions"][2]["capacity_mw"] = 2000 * 3000 / 1e6
    res = run(scenario(doc), seed=3)
    last = res.regions[res.regions["date"] == res.regions["date"].max()].set_index("region")
    before = np.array([0.5, 0.375, 0.125])
    expected = theory.shares_after_frictionless_ban(before, np.array([True, False, False]))
    assert last.loc[["a", "b", "c"], "share"].to_numpy() == pytest.approx(expected, abs=1e-12)
    assert last.loc[["a", "b", "c"], "rigs_online"].tolist() == [0, 6000, 2000]
    flows = res.flows.groupby("destination")[["rigs_departed", "rigs_arrived"]].sum()
    assert flows.loc["b"].tolist() == [3000, 3000] and flows.loc["c"].tolist() == [1000, 1000]
    # fixed 10-day transit: nothing arrives before day 4 + 10
    first = res.flows.loc[res.flows["rigs_arrived"] > 0, "date"].min()
    assert str(first) == "2021-01-15"


def test_enforcement_hazard_thins_rigs_geometrically() -> None:
    hazard = 0.1
    doc = three_regions(policies=[{"kind": "mining_ban", "region": "a", "date": "2021-01-11",
                                   "hazard_per_day": hazard}],
                        behaviour={"decision_rate_per_day": 0.0})
    online = leaf(run(scenario(doc), seed=4).regions, "a", "rigs_online")
    assert online[9] == 4000  # untouched before the ban
    for k in (0, 4, 9):
        p = np.exp(-hazard * (k + 1))
        sd = np.sqrt(4000 * p * (1 - p))
        assert abs(online[10 + k] - 4000 * p) < Z * sd


def test_grace_and_ramp_delay_enforcement() -> None:
    doc = three_regions(policies=[{"kind": "mining_ban", "region": "a", "date": "2021-01-11",
                                   "hazard_per_day": 0.5, "grace_days": 5, "ramp_days": 10}],
                        behaviour={"decision_rate_per_day": 0.0})
    online = leaf(run(scenario(doc), seed=4).regions, "a", "rigs_online")
    assert online[10 + 4] == 4000  # grace: days 10–14 untouched
    assert online[10 + 5] < 4000


def test_unprofitable_rigs_switch_off_and_back_with_hysteresis() -> None:
    # c's power at 1 USD/kWh costs 72 USD a day against ~62 USD of revenue: off.
    doc = three_regions()
    doc["regions"][2]["electricity_usd_per_kwh"] = 1.0
    doc["regions"][2]["electricity_monthly_usd_per_kwh"] = [1.0] * 2 + [0.05] * 10
    res = run(scenario(doc), seed=5)
    off = leaf(res.regions, "c", "rigs_offline")
    on = leaf(res.regions, "c", "rigs_online")
    assert off[0] == 1000 and on[0] == 0
    assert on[70] == 1000  # March: cheap again, well inside the hysteresis band


def test_a_dated_price_step_switches_rigs_off_on_its_day_and_a_later_one_back() -> None:
    # c pays 1 USD/kWh from 1 February (72 USD a day against ~62 of revenue: off that day), and
    # from 1 March its usual price again less a rebate (on, inside the hysteresis band)
    doc = three_regions()
    doc["regions"][2]["electricity_schedule"] = [
        {"date": "2021-02-01", "usd_per_kwh": 1.0},
        {"date": "2021-03-01", "surcharge_usd_per_kwh": -0.01}]
    res = run(scenario(doc), seed=5)
    on = leaf(res.regions, "c", "rigs_online")
    assert on[30] == 1000 and on[31] == 0  # 31 January, 1 February
    assert on[58] == 0 and on[59] == 1000  # 28 February, 1 March


@pytest.mark.parametrize("expected_days", [None, 20.0])
def test_an_announced_end_makes_forced_off_rigs_wait_it_out(expected_days: float | None
                                                            ) -> None:
    # a's ban lasts 20 days, and the journey out takes 60. Hibernating is worth its constant
    # (0) with no known end, but (180 − 20 days) × ~59 USD / 500 ≈ 19 utility units with one,
    # against ≈ 14 for relocating ((180 − 60) × 59 / 500 − 100 / 500): logit shares of about
    # 0 % and 99 %. The rigs that waited come back when the ban is lifted.
    doc = three_regions(
        policies=[{"kind": "mining_ban", "id": "ban", "region": "a", "date": "2021-01-11",
                   "hazard_per_day": 1.0, "expected_days": expected_days},
                  {"kind": "lift", "policy": "ban", "date": "2021-01-31"}],
        behaviour={"decision_rate_per_day": 1.0})
    for route in doc["routes"]:
        route["transit"] = {"distribution": "fixed", "days": 60}
    res = run(scenario(doc), seed=8)
    waiting = leaf(res.regions, "a", "rigs_banned_off")[25]  # 26 January
    online = leaf(res.regions, "a", "rigs_online")[31]  # 1 February: the lift was yesterday
    moved = res.flows["rigs_departed"].sum()
    chose = res.decisions.groupby("choice")["rigs"].sum()
    if expected_days is None:
        assert waiting < 0.1 * 4000 and moved > 0.9 * 4000
        assert chose.get("hibernate", 0) < 0.1 * 4000
    else:
        assert waiting > 0.9 * 4000 and moved < 0.1 * 4000
        assert chose["hibernate"] > 0.9 * 4000
        assert online > 0.9 * 4000


def test_an_announced_end_gone_by_without_a_lift_is_no_longer_believed() -> None:
    # the ban was to last 5 days and is never lifted: rigs that waited decide again after
    # `hibernate_days` (10), with no known end, and leave as in the case without one
    doc = three_regions(
        policies=[{"kind": "mining_ban", "region": "a", "date": "2021-01-11",
                   "hazard_per_day": 1.0, "expected_days": 5.0}],
        behaviour={"decision_rate_per_day": 1.0, "hibernate_days": 10.0})
    for route in doc["routes"]:
        route["transit"] = {"distribution": "fixed", "days": 60}
    res = run(scenario(doc), seed=9)
    waiting = leaf(res.regions, "a", "rigs_banned_off")
    assert waiting[14] > 0.5 * 4000  # 15 January: most forced off so far wait
    assert waiting[40] < 0.1 * 4000 and res.flows["rigs_departed"].sum() > 0.9 * 4000


def test_pool_wind_down_is_linear_to_zero() -> None:
    doc = three_regions(end="2021-02-28")
    doc["pools"].append({"name": "p2", "coin": "BTC", "fee": 0.01})
    doc["pools"][0]["events"] = [{"kind": "shutdown", "date": "2021-01-21",
                                  "wind_down_days": 5}]
    res = run(scenario(doc), seed=6)
    p1 = res.pools[res.pools["pool"] == "p1"]["rigs"].to_numpy()
    assert p1[14] == 8000
    for k in range(5):  # day 15 + k: expected 8000 · (4 − k) / 5 remain
        expected = 8000 * (4 - k) / 5
        frac = 1 / (5 - k)  # each day's leavers are binomial on the remainder
        sd = np.sqrt(p1[14 + k] * frac * (1 - frac)) if k < 4 else 0.0
        assert abs(p1[15 + k] - expected) <= Z * max(sd, 1.0) * np.sqrt(k + 1) + 1e-9
    assert p1[19:].max() == 0
    p2 = res.pools[res.pools["pool"] == "p2"]["share"].to_numpy()
    assert p2[-1] == pytest.approx(1.0)
    kinds = res.events["kind"].tolist()
    assert "pool_wind_down" in kinds and "pool_shutdown" in kinds


def test_pool_service_ban_with_vpn_leakage_and_no_pool_left() -> None:
    doc = three_regions(policies=[{"kind": "pool_service_ban", "region": "a",
                                   "date": "2021-01-11", "vpn_leakage": 0.25}],
                        behaviour={"decision_rate_per_day": 0.0})
    res = run(scenario(doc), seed=7)
    a = res.regions[res.regions["region"] == "a"]
    online = a["rigs_online"].to_numpy()
    # one pool only: a's miners who do not stay through a VPN have no pool and are forced off
    assert online[9] == 4000
    assert abs(online[10] - 1000) < Z * np.sqrt(4000 * 0.25 * 0.75)
    assert online[10] + a["rigs_banned_off"].to_numpy()[10] == 4000


def test_facility_orders_queue_for_capacity_and_books() -> None:
    doc = three_regions(facilities=[{
        "name": "farm", "region": "b", "mode": "self_mining",
        "capacity": [{"date": "2021-01-01", "mw": 3.0}, {"date": "2021-02-01", "mw": 30.0}],
        "power_usd_per_kwh": 0.03,
        "orders": [{"date": "2021-01-10", "hardware": "rig", "rigs": 1300, "pool": "p1"}]}])
    res = run(scenario(doc), seed=8)
    fac = res.facilities
    assert fac["rigs"].to_numpy()[8] == 0
    assert fac["rigs"].to_numpy()[9] == 1000  # 3 MW / 3 kW
    assert fac["used_mw"].to_numpy()[9] == pytest.approx(3.0)
    assert fac["rigs"].to_numpy()[31] == 1300  # capacity steps up on 1 February
    b = res.regions[res.regions["region"] == "b"]
    assert b["rigs_queued"].to_numpy()[9] == 300
    # books: revenue = the facility's hashrate share of the day's block rewards, less the
    # pool's fee (what its rigs earn)
    net = res.network
    day = 40
    share = 1300 * 1e14 / net["hashrate_hs"].to_numpy()[day]
    fee = next(p.fee for p in res.scenario.pools if p.name == "p1")
    assert fee > 0
    assert fac["revenue_usd"].to_numpy()[day] == pytest.approx(
        share * net["revenue_usd"].to_numpy()[day] * (1.0 - fee))
    assert fac["cost_usd"].to_numpy()[day] == pytest.approx(1300 * 3.0 * 24 * 0.03)


def test_underground_rigs_mine_until_detected() -> None:
    # Detected rigs are forced off and decide again; with underground the only attractive
    # option, a balance forms. Each day detection (probability δ = 1 − e^−0.2) comes before
    # decisions (rate d = 0.5), so at the end of a day B = (B + δU)(1 − d), and the share
    # underground is d / (d + δ(1 − d)) ≈ 0.847.
    doc = three_regions(
        policies=[{"kind": "mining_ban", "region": "a", "date": "2021-01-11",
                   "hazard_per_day": 1.0, "underground_detection_per_day": 0.2}],
        behaviour={"decision_rate_per_day": 0.5,
                   "constants": {"relocate": -50, "underground": 5, "hibernate": -50,
                                 "sell": -50, "retire": -50}})
    res = run(scenario(doc), seed=9)
    a = res.regions[res.regions["region"] == "a"]
    under = a["rigs_underground"].to_numpy()
    mining = under + a["rigs_online"].to_numpy()  # rigs not yet caught still mine
    assert a["hashrate_hs"].to_numpy()[20] == pytest.approx(mining[20] * 1e14)
    delta = 1 - np.exp(-0.2)
    balance = 0.5 / (0.5 + delta * 0.5)
    # daily end states are correlated; 60 days of 4000 rigs: sd of the mean share < 0.01
    assert abs(under[60:].mean() / 4000 - balance) < 0.02
    assert a["rigs_banned_off"].to_numpy()[60:].min() > 0  # detection keeps happening


def test_cohort_and_rig_resolution_agree_in_distribution() -> None:
    # Rigs online in a after 5 days of a 0.1/day hazard: both resolutions ~ Binomial(4000, p).
    doc = three_regions(end="2021-01-20", policies=[
        {"kind": "mining_ban", "region": "a", "date": "2021-01-11", "hazard_per_day": 0.1}],
        behaviour={"decision_rate_per_day": 0.0})
    p = np.exp(-0.5)
    for resolution in ("cohort", "rig"):
        res = run(scenario({**doc, "resolution": resolution}), seed=10, replicates=5)
        a = res.regions[res.regions["region"] == "a"]
        final = a.groupby("replicate")["rigs_online"].nth(14).to_numpy()
        z = (final.mean() - 4000 * p) / np.sqrt(4000 * p * (1 - p) / len(final))
        assert abs(z) < Z, resolution


def test_overlapping_bans_keep_their_own_ramps() -> None:
    # A strong ban ramping over 10 days, then a weak nation-wide one: the strong ramp goes on.
    from sim.engine import start_world

    doc = three_regions(policies=[
        {"kind": "mining_ban", "region": "a", "date": "2021-01-11", "hazard_per_day": 1.0,
         "ramp_days": 10},
        {"kind": "mining_ban", "region": "a", "date": "2021-01-15", "hazard_per_day": 0.1}])
    env, world = start_world(scenario(doc), seed=1, replicate=0)
    env.run(until=16)
    world.day = 15  # the sixth day of the strong ban's ramp: hazard 0.6, not 0.1
    assert world.ban_probability()[0] == pytest.approx(1 - np.exp(-0.6))
    world.day = 30
    assert world.ban_probability()[0] == pytest.approx(1 - np.exp(-1.0))
    assert world.banned().tolist() == [True, False, False]


def test_lifting_a_ban_brings_forced_off_rigs_back() -> None:
    doc = three_regions(policies=[
        {"kind": "mining_ban", "id": "ban", "region": "a", "date": "2021-01-11",
         "hazard_per_day": 1.0},
        {"kind": "lift", "policy": "ban", "date": "2021-02-10"}],
        behaviour={"decision_rate_per_day": 0.0})
    online = leaf(run(scenario(doc), seed=11).regions, "a", "rigs_online")
    assert online[9] == 4000 and online[20] < 10  # forced off within days
    assert online[39] == 0  # the day before the lift
    assert online[40] == 4000  # the lift day: they queue and take their racks that morning


def test_power_outage_stops_rigs_without_a_decision() -> None:
    doc = three_regions(policies=[{"kind": "power_outage", "region": "a", "date": "2021-01-11",
                                   "days": 5}])
    res = run(scenario(doc), seed=12)
    a = res.regions[res.regions["region"] == "a"]
    online, off = a["rigs_online"].to_numpy(), a["rigs_offline"].to_numpy()
    assert online[9] == 4000
    assert online[10:15].max() == 0 and off[10:15].min() == 4000  # dark, nobody leaves
    assert a["rigs_banned_off"].to_numpy().max() == 0 and len(res.flows) == 0
    assert online[15] == 4000  # power back on day 15: they switch on that morning
    assert {"power_outage", "power_restored"} <= set(res.events["kind"])


def test_power_price_spread_switches_the_dearest_sites_off_first() -> None:
    # c's mean price 0.80 USD/kWh with a ±0.5 spread: tiers at 0.40, 0.60, 0.80, 1.00, 1.20.
    # Revenue ~62 USD a day against 72 USD per 1 USD/kWh (57.6 at 0.80): three tiers stay on.
    doc = three_regions(end="2021-01-20")
    doc["regions"][2]["electricity_usd_per_kwh"] = 0.80
    doc["regions"][2]["electricity_spread_usd_per_kwh"] = 0.5
    res = run(scenario(doc), seed=13)
    c = res.regions[res.regions["region"] == "c"]
    assert c["rigs_online"].iloc[0] == 600 and c["rigs_offline"].iloc[0] == 400
    cost = c["cost_usd"].iloc[0]
    assert cost == pytest.approx(200 * 72 * (0.4 + 0.6 + 0.8))  # what the cheap tiers pay


@pytest.mark.parametrize("resolution", ["cohort", "rig"])
def test_the_tally_stays_exact_every_day_of_the_tutorial(resolution: str) -> None:
    # Every rule changes rows through Fleet.set; recounting the rows each day must agree.
    from sim.bundled import resolve
    from sim.engine import run_replicate
    from sim.validation import load

    sc = load(resolve("tutorial")).model_copy(update={"resolution": resolution})
    worlds = []
    checked = []

    def check(day: int) -> None:
        worlds[0].fleet.check()
        checked.append(day)

    run_replicate(sc, seed=2, on_start=worlds.append, on_day=check)
    assert len(checked) == sc.num_days


def test_rig_mode_gives_the_tutorials_aggregates_in_distribution() -> None:
    # 10 replicates of the tutorial in each resolution: Welch's t on the mean of each figure,
    # Bonferroni over the figures (family-wise false alarm below ALPHA for a correct model).
    from sim.bundled import resolve
    from sim.validation import load

    sc = load(resolve("tutorial"))
    figures: dict[str, dict[str, np.ndarray]] = {}
    for resolution in ("cohort", "rig"):
        res = run(sc.model_copy(update={"resolution": resolution}), seed=21, replicates=10)
        reg, net = res.regions, res.network
        dates = sorted(net["date"].unique())
        out = {}
        for day in (100, 160, 250, 364):
            at = net[net["date"] == dates[day]]
            out[f"hashrate@{day}"] = at.sort_values("replicate")["hashrate_hs"].to_numpy()
        last = reg[(reg["date"] == dates[-1])].sort_values("replicate")
        for region, col in (("red_country", "rigs_online"), ("red_country", "rigs_underground"),
                            ("red_country", "rigs_retired"), ("blue_country", "rigs_online"),
                            ("green_country", "rigs_online")):
            out[f"{region}.{col}"] = last.loc[last["region"] == region, col].to_numpy()
        figures[resolution] = out
    names = list(figures["cohort"])
    for name in names:
        a, b = figures["cohort"][name], figures["rig"][name]
        if np.std(a) == 0 and np.std(b) == 0:
            assert a.mean() == b.mean(), name
            continue
        p = stats.ttest_ind(a, b, equal_var=False).pvalue
        assert p > ALPHA / len(names), (name, a.mean(), b.mean())


@pytest.mark.parametrize("resolution", ["cohort", "rig"])
def test_partial_outage_darkens_a_share_and_brings_it_back_farm_by_farm(resolution: str) -> None:
    # 40 % of a's 4,000 rigs lose power on day 10 for 5 days, coming back evenly over days
    # 15 … 24 (return_days 10): each rig is hit with p = 0.4, then returns on one of 10 days.
    doc = three_regions(resolution=resolution, policies=[
        {"kind": "power_outage", "region": "a", "date": "2021-01-11", "days": 5, "share": 0.4,
         "return_days": 10}])
    res = run(scenario(doc), seed=13)
    a = res.regions[res.regions["region"] == "a"]
    online, off = a["rigs_online"].to_numpy(), a["rigs_offline"].to_numpy()
    assert online[9] == 4000 and off[9] == 0
    dark = off[10]
    assert abs(dark - 1600) < Z * np.sqrt(4000 * 0.4 * 0.6)
    assert np.all(off[10:15] == dark) and np.all(online[10:15] == 4000 - dark)  # still dark
    assert a["rigs_banned_off"].to_numpy().max() == 0 and len(res.flows) == 0  # no decision
    # back from day 15, about a tenth of them a day, all by day 24
    back = dark - off[14:25]
    assert back[0] == 0 and back[-1] == dark and np.all(np.diff(back) >= 0)
    halfway = back[5] / dark  # days 15 … 19 are 5 of the 10 return days
    assert abs(halfway - 0.5) < Z * np.sqrt(0.25 / dark)


@pytest.mark.parametrize("resolution", ["cohort", "rig"])
def test_wait_and_see_after_an_announcement_switches_rigs_off_for_a_while(resolution: str
                                                                         ) -> None:
    # From day 10 a share q = 0.05 of a's online rigs switches off each day for 20 days: by
    # day 10 + t (t ≤ 20) the expected number waiting is 4000 · (1 − (1 − q)^t).
    doc = three_regions(resolution=resolution, end="2021-06-30", policies=[
        {"kind": "announcement", "region": "a", "date": "2021-01-11", "risk": 0.0,
         "suspend_rate_per_day": 0.05, "suspend_days": 20}])
    res = run(scenario(doc), seed=14, replicates=4)
    a = res.regions[res.regions["region"] == "a"]
    off = np.stack([g["rigs_offline"].to_numpy() for _, g in a.groupby("replicate")])
    expected = 4000 * (1 - 0.95 ** 10)
    sd = np.sqrt(4000 * 0.95 ** 10 * (1 - 0.95 ** 10) / len(off))
    assert abs(off[:, 19].mean() - expected) < Z * sd  # day 19: 10 days of waiting
    assert np.all(off[:, 9] == 0)
    assert a["rigs_banned_off"].to_numpy().max() == 0 and len(res.flows) == 0
    # Steady state (renewal): a rig waits 20 recorded days, then is online on each day until
    # it waits again with probability q that day — 1/q − 1 = 19 online records on average —
    # so a share 20 / 39 waits. The mean over days 120-180 of each replicate has a variance
    # of at most 4000 · ¼ (every day's count fully correlated), which bounds the tolerance.
    steady = 4000 * 20 / 39
    assert abs(off[:, 120:].mean() - steady) < Z * np.sqrt(4000 * 0.25 / len(off))


def test_suspended_rigs_are_hit_by_a_ban_like_any_offline_rig() -> None:
    doc = three_regions(resolution="rig", policies=[
        {"kind": "power_outage", "region": "a", "date": "2021-01-11", "days": 30, "share": 0.5},
        {"kind": "power_cutoff", "region": "a", "date": "2021-01-16"}],
        behaviour={"decision_rate_per_day": 0.0})
    res = run(scenario(doc), seed=15)
    a = res.regions[res.regions["region"] == "a"]
    assert a["rigs_offline"].to_numpy()[12] > 1500  # suspended
    assert a["rigs_banned_off"].to_numpy()[16] == 4000  # the cut-off forces all of them off


@pytest.mark.parametrize("resolution", ["cohort", "rig"])
def test_the_tally_stays_exact_through_suspensions_and_a_ban(resolution: str) -> None:
    from sim.engine import run_replicate

    doc = three_regions(resolution=resolution, policies=[
        {"kind": "announcement", "region": "a", "date": "2021-01-05", "risk": 0.2,
         "suspend_rate_per_day": 0.05, "suspend_days": 7, "exit_rate_per_day": 0.01},
        {"kind": "power_outage", "region": "a", "date": "2021-01-11", "days": 5, "share": 0.4,
         "return_days": 4},
        {"kind": "mining_ban", "region": "a", "date": "2021-01-20", "hazard_per_day": 0.2,
         "underground_detection_per_day": 0.01}])
    worlds: list = []
    run_replicate(scenario(doc), seed=3, on_start=worlds.append,
                  on_day=lambda day: worlds[0].fleet.check())
    assert worlds[0].fleet.total_by_status().sum() == 8000


def test_no_rig_mines_for_a_pool_that_has_shut_down() -> None:
    # In the tutorial, red_country's rigs are left without a pool by the service ban of 1 June
    # (forced off, still redpool's); redpool shuts down on 1 July. With hiding made
    # attractive, the old code let such rigs go underground and mine for the closed pool
    # (512 rigs on 1 July with seed 1).
    import datetime as dt

    import sim

    res = sim.run(sim.load("tutorial", ["behaviour.constants.underground=3"]), seed=1)
    pools = res.pools
    after = pools[(pools["pool"] == "redpool") & (pools["date"] >= dt.date(2021, 7, 1))]
    assert len(after) and (after["rigs"] == 0).all()
    leaves = res.regions[res.regions["region"].isin(["highland", "plains"])]
    assert leaves["rigs_underground"].iloc[-1] > 0  # hiding did happen, with a running pool


def test_institutions_acting_on_a_day_see_that_day(monkeypatch: pytest.MonkeyPatch) -> None:
    # A pool's wind-down (tutorial: 1 July after 7 days) makes miners leave on days 174–181;
    # rigs it strands are stamped with world.day, which the old engine set only at the
    # day's tick, after the institutions (so they read the day before).
    import sim
    from sim.agents import pools

    seen: list[int] = []
    real = pools.leave_pools

    def spy(world, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(world.day)
        return real(world, *args, **kwargs)

    monkeypatch.setattr(pools, "leave_pools", spy)
    sim.run(sim.load("tutorial", ["end=2021-07-05"]), seed=1)
    assert sorted(set(seen)) == [*range(151, 152), *range(174, 182)]


def test_ban_ramps_are_one_table() -> None:
    """Each ban ramps on its own clock, the strongest applies, and a ramp of a tiny fraction
    of a day is full at once (without a floating-point warning)."""
    import warnings

    import sim
    from sim.engine import start_world
    from sim.world import Ban

    _, world = start_world(sim.load("tutorial"), 1, 0)
    num = world.num_regions
    first, second = np.zeros(num, bool), np.zeros(num, bool)
    first[:2], second[1:3] = True, True
    world.set_bans([Ban(first, 0.2, 10.0, 4.0), Ban(second, 0.1, 0.0, 1e-310)])
    world.day = 11  # the first ban's second day of four: half strength, 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = world.ban_probability()
    expected = np.zeros(num)
    expected[:3] = -np.expm1(-0.1)
    np.testing.assert_allclose(p, expected, rtol=0, atol=0)
    assert world.banned().tolist() == (first | second).tolist()


def test_arrival_days_are_the_same_drawn_at_once_or_pair_by_pair(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Single rigs' arrival days come from a (rigs × days) table of their pairs' CDFs on a
    small day and pair by pair (searchsorted) on a large one: the same days, so the same
    tables, either way (rig resolution, where every shipped row is a single rig)."""
    from sim.agents import miners
    from sim.bundled import resolve
    from sim.engine import run_replicate
    from sim.validation import load

    sc = load(resolve("tutorial")).model_copy(update={"resolution": "rig"})
    monkeypatch.setattr(miners, "ARRIVAL_TABLE_CELLS", 1 << 40)
    at_once, _ = run_replicate(sc, 3)
    monkeypatch.setattr(miners, "ARRIVAL_TABLE_CELLS", 0)
    by_pair, _ = run_replicate(sc, 3)
    assert at_once["flows"]["rigs_arrived"].sum() > 1000
    for name, table in at_once.items():
        assert by_pair[name].equals(table), name
