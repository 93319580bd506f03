"""Model behaviour a second QA pass checked against docs/model.md: a pool that shuts down keeps
no miner, hidden or not; a hosting site's books balance against its rigs' bills."""

from __future__ import annotations

import numpy as np

from sim.results import run
from tests.worlds import scenario, three_regions


def _underground_world(**extra: object) -> dict:
    doc = three_regions(end="2021-03-31", **extra)
    doc["pools"] = [{"name": "p1", "coin": "BTC", "fee": 0.02},
                    {"name": "p2", "coin": "BTC", "fee": 0.02}]
    doc["policies"] = [{"kind": "mining_ban", "region": "a", "date": "2021-01-05",
                        "hazard_per_day": 0.5, "underground_detection_per_day": 0.001}]
    doc["behaviour"] = {"decision_rate_per_day": 1.0,
                        "constants": {"underground": 10.0, "relocate": -10.0}}
    return doc


def test_a_pool_that_shuts_down_keeps_no_miner_not_even_a_hidden_one() -> None:
    doc = _underground_world()
    doc["pools"][0]["events"] = [{"kind": "shutdown", "date": "2021-02-15"}]
    res = run(scenario(doc), seed=2)
    under = res.regions[res.regions["region"] == "a"]["rigs_underground"].to_numpy()
    assert under[40] > 1000  # most of a's rigs went underground before the shutdown
    p1 = res.pools[res.pools["pool"] == "p1"].set_index("date")
    after = p1.loc[[d for d in p1.index if str(d) >= "2021-02-15"]]
    assert (after["rigs"] == 0).all() and (after["revenue_usd"] == 0).all()
    assert res.regions[res.regions["region"] == "a"]["rigs_underground"].to_numpy()[-1] > 0


def test_a_hosting_sites_revenue_is_what_its_rigs_pay() -> None:
    doc = three_regions(end="2021-01-31")
    doc["facilities"] = [{"name": "farm", "region": "b", "mode": "hosting",
                          "capacity": [{"date": "2021-01-01", "mw": 100.0}],
                          "power_usd_per_kwh": 0.03, "hosting_fee_usd_per_kwh": 0.01,
                          "fixed_cost_usd_per_month": 0.0}]
    doc["fleet"][1]["facility"] = "farm"  # b's 3,000 rigs, 3 kW each
    res = run(scenario(doc), seed=1)
    books = res.facilities[res.facilities["facility"] == "farm"]
    kwh = 3000 * 3.0 * 24
    np.testing.assert_allclose(books["revenue_usd"], kwh * 0.04)  # power resold + fee
    np.testing.assert_allclose(books["revenue_usd"] - books["cost_usd"], kwh * 0.01)


def test_a_hosting_sites_growth_within_the_look_ahead_can_be_booked() -> None:
    """Relocation booked a hosting site at today's capacity, not at what it will have
    `capacity_lookahead_days` ahead (as for the regions, and as docs/model.md says): a site
    growing 20 days after a ban took no rig until the day it grew."""
    doc = three_regions(end="2021-03-31")
    for r in doc["regions"][1:]:
        r["capacity_mw"] = 0.0  # b and c: only the hosting site can take rigs
    doc["facilities"] = [{"name": "farm", "region": "b", "mode": "hosting",
                          "capacity": [{"date": "2021-01-01", "mw": 0.0},
                                       {"date": "2021-02-01", "mw": 30.0}]}]
    doc["fleet"] = [doc["fleet"][0]]  # a's 4,000 rigs
    doc["policies"] = [{"kind": "mining_ban", "region": "a", "date": "2021-01-11",
                        "hazard_per_day": 0.5}]
    doc["behaviour"] = {"decision_rate_per_day": 1.0}
    res = run(scenario(doc), seed=3)
    departed = res.flows[res.flows["rigs_departed"] > 0]
    assert len(departed) and str(departed["date"].min()) < "2021-01-20"


def test_an_outage_begun_before_the_start_ends_on_its_own_date() -> None:
    """An outage dated 5 days before the start, lasting 8, kept its region dark for 8 days
    from the start (it should end on day 3); one over before the start did anything at all."""
    doc = three_regions(end="2021-01-31", policies=[
        {"kind": "power_outage", "region": "a", "date": "2020-12-27", "days": 8},
        {"kind": "power_outage", "region": "b", "date": "2020-12-20", "days": 5}])
    res = run(scenario(doc), seed=4)
    a = res.regions[res.regions["region"] == "a"]["rigs_online"].to_numpy()
    b = res.regions[res.regions["region"] == "b"]["rigs_online"].to_numpy()
    assert a[:3].max() == 0 and a[3] == 4000  # 27 Dec + 8 days = 4 January, day 3
    assert b.min() == 3000  # 20-25 December: before the run
    assert "b" not in set(res.events.loc[res.events["kind"] == "power_outage", "region"])


def test_rigs_surfacing_after_a_lift_queue_for_capacity() -> None:
    """Underground rigs hold no capacity, so purchases took it during the ban; on the lift
    they came straight back online: 6,671 rigs (20 MW) on a's 12 MW. They queue now."""
    doc = _underground_world()
    doc["regions"][0]["capacity_mw"] = 12.0  # a's 4,000 rigs of 3 kW fill it
    doc["policies"][0]["id"] = "ban"
    doc["policies"].append({"kind": "lift", "policy": "ban", "date": "2021-03-01"})
    doc["purchases"] = [{"region": "a", "hardware": "rig", "pool": "p1", "start": "2021-01-20",
                         "end": "2021-02-20", "rigs_per_day": 200}]
    res = run(scenario(doc), seed=3)
    a = res.regions[res.regions["region"] == "a"].set_index("date")
    assert a["rigs_underground"].max() > 1000  # hidden while purchases were admitted
    lift = [d for d in a.index if str(d) >= "2021-03-01"]
    assert (a.loc[lift, "rigs_online"] * 3.0 / 1000.0 <= 12.0 + 1e-9).all()
    assert a.loc[lift, "rigs_queued"].iloc[0] > 0  # the surfacing rigs wait their turn
