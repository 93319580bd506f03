"""Small hand-made worlds for the engine's tests (plain dicts → Scenario)."""

from __future__ import annotations

import copy
from typing import Any

from sim.scenario import Scenario

RIG = {"name": "rig", "coin": "BTC", "hashrate_hs": 1.0e14, "power_w": 3000.0,
       "price_usd": 3000.0}


def three_regions(**overrides: Any) -> dict[str, Any]:
    """Region `a` (to be banned) and two destinations `b`, `c`; one pool; one rig model.

    At steady state 144 blocks × 3.5 coins × 1000 USD are shared by 8,000 rigs: 63 USD a day
    per rig against 3.6 USD of power at 0.05 USD/kWh, so every rig is profitable.
    """
    doc: dict[str, Any] = {
        "name": "three", "start": "2021-01-01", "end": "2021-04-30",
        "coins": [{"name": "BTC", "rule": "bitcoin", "subsidy_coins": 3.125,
                   "fees_per_block_coins": 0.375, "blocks_into_epoch": 0,
                   "price": {"kind": "constant", "usd": 1000.0}}],
        "regions": [
            {"name": "a", "electricity_usd_per_kwh": 0.05, "carbon_g_per_kwh": 500.0},
            {"name": "b", "electricity_usd_per_kwh": 0.05, "carbon_g_per_kwh": 100.0},
            {"name": "c", "electricity_usd_per_kwh": 0.05, "carbon_g_per_kwh": 100.0},
        ],
        "routes": [
            {"origin": "a", "destination": "b", "cost_usd_per_rig": 100.0,
             "transit": {"distribution": "fixed", "days": 10}},
            {"origin": "a", "destination": "c", "cost_usd_per_rig": 100.0,
             "transit": {"distribution": "fixed", "days": 10}},
        ],
        "hardware": [dict(RIG)],
        "pools": [{"name": "p1", "coin": "BTC", "fee": 0.02}],
        "fleet": [
            {"region": "a", "hardware": "rig", "rigs": 4000, "pool": "p1"},
            {"region": "b", "hardware": "rig", "rigs": 3000, "pool": "p1"},
            {"region": "c", "hardware": "rig", "rigs": 1000, "pool": "p1"},
        ],
    }
    doc = copy.deepcopy(doc)
    doc.update(overrides)
    return doc


def scenario(doc: dict[str, Any]) -> Scenario:
    return Scenario.model_validate(doc)
