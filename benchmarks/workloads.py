"""The scenarios the benchmarks run: the tutorial world scaled to any number of rigs (and
widened to more regions or pools), and china-2021 at rig resolution.

Scaling keeps the tutorial's shares: every fleet entry and every capacity is multiplied by the
same factor, and so is the coin's price (a rig's share of the reward shrinks with the fleet's
growth), so a 3M-rig tutorial mines and migrates as the 28,000-rig one does. Extra
regions are leaves of a new country ("grey") with rigs of their own, mining for the same pools;
extra pools serve everyone and take an equal part of every fleet entry's pool mix. Neither is a
destination of the migration: they widen the tables, which is what they are for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim.scenario import Scenario
from sim.validation import load

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "scenarios" / "tutorial.yaml"
CHINA = ROOT / "scenarios" / "china-2021.yaml"


def _scaled(doc: dict[str, Any], rigs: int) -> None:
    """Multiply the fleet, and every capacity and inflow with it (regions' and facilities' MW,
    incentives' MW, routes' rigs per day, purchases and facility orders), and the coins' prices
    and starting difficulty: the network's reward is shared by `factor` times the hashrate, so
    a rig earns what it earns in the unscaled world only if the coin is worth `factor` times
    as much. The world then plays out as at its own size."""
    total = sum(f["rigs"] for f in doc["fleet"])
    factor = rigs / total
    for coin in doc["coins"]:
        price = coin["price"]
        for point in price.get("points", [price]):
            key = "initial_usd" if price["kind"] == "gbm" else "usd"
            point[key] *= factor
        if coin.get("initial_difficulty") is not None:
            coin["initial_difficulty"] *= factor
    for f in doc["fleet"]:
        f["rigs"] = max(1, round(f["rigs"] * factor))
    for purchase in doc.get("purchases", []):
        purchase["rigs_per_day"] *= factor
    for policy in doc.get("policies", []):
        if policy.get("capacity_mw"):
            policy["capacity_mw"] *= factor
    for r in doc["regions"]:
        if "capacity_mw" in r:
            r["capacity_mw"] *= factor
        for step in r.get("capacity_schedule", []):
            step["mw"] *= factor
    for fac in doc.get("facilities", []):
        for step in fac.get("capacity", []):
            step["mw"] *= factor
        for order in fac.get("orders", []):
            order["rigs"] = max(1, round(order["rigs"] * factor))
    for route in doc.get("routes", []):
        if route.get("capacity_rigs_per_day") is not None:
            route["capacity_rigs_per_day"] = max(1, round(route["capacity_rigs_per_day"] * factor))


def tutorial(rigs: int, resolution: str = "rig", extra_regions: int = 0, extra_pools: int = 0,
             days: int | None = None) -> Scenario:
    """The tutorial world with `rigs` rigs (purchases dropped so the count stays put)."""
    doc = load(TUTORIAL).model_dump(mode="json", exclude_none=True)
    doc["purchases"] = []
    doc["resolution"] = resolution
    if extra_regions:
        doc["regions"].append({"name": "grey_country", "electricity_usd_per_kwh": 0.05,
                               "carbon_g_per_kwh": 500})
        share = 0.2 / extra_regions  # a fifth of the rigs, spread over the new leaves
        base = sum(f["rigs"] for f in doc["fleet"])
        for i in range(extra_regions):
            doc["regions"].append({"name": f"grey_{i}", "parent": "grey_country",
                                   "electricity_usd_per_kwh": 0.04 + 0.02 * i / extra_regions,
                                   "carbon_g_per_kwh": 500})
            doc["fleet"].append({"region": f"grey_{i}", "hardware": "s19-class",
                                 "rigs": max(1, round(base * share)), "pool": "bluepool"})
    if extra_pools:
        for i in range(extra_pools):
            doc["pools"].append({"name": f"pool_{i}", "coin": "TUT", "fee": 0.02,
                                 "home_region": "blue_country"})
        for f in doc["fleet"]:
            mix = f["pool"] if isinstance(f["pool"], dict) else {f["pool"]: 1.0}
            share = sum(mix.values()) / len(mix)
            f["pool"] = {**mix, **{f"pool_{i}": share for i in range(extra_pools)}}
    _scaled(doc, rigs)
    if days is not None:
        import datetime as dt

        start = dt.date.fromisoformat(str(doc["start"]))
        doc["end"] = (start + dt.timedelta(days=days - 1)).isoformat()
    return Scenario.model_validate(doc)


def china(rigs: int | None = None, days: int = 730) -> Scenario:
    """china-2021 at rig resolution for `days` days: its own 4.1M rigs, or `rigs` with every
    capacity and inflow scaled alike (as the tutorial is scaled)."""
    import datetime as dt

    doc = load(CHINA).model_dump(mode="json", exclude_none=True)
    doc["resolution"] = "rig"
    start = dt.date.fromisoformat(str(doc["start"]))
    doc["end"] = (start + dt.timedelta(days=days - 1)).isoformat()
    if rigs is not None:
        _scaled(doc, rigs)
    return Scenario.model_validate(doc)
