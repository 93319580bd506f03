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
