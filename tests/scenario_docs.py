"""A small valid scenario as plain Python data, and YAML text made from such data.

Used by the validation tests: they break one thing in :func:`minimal_doc` and check the message
and its position. The document touches every section so that broken copies reach every check.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from ruamel.yaml import YAML

D = dt.date


def minimal_doc() -> dict[str, Any]:
    """A valid scenario: two Chinese provinces banned, rigs leaving for a US state.

    Capacities are chosen so that the initial fleet fits: Sichuan 20 000 × 3.25 kW = 65 MW of
    100 MW; the Georgia facility 900 × 3.25 kW = 2.925 MW of its first 3 MW step.
    """
    return {
        "name": "minimal",
        "description": "two provinces banned, one destination",
        "start": D(2021, 5, 1),
        "end": D(2021, 12, 31),
        "seed": 42,
        "coins": [_bitcoin()],
        "regions": _regions(),
        "routes": [
            {
                "origin": "china",
                "destination": "usa",
                "transit": {"distribution": "lognormal", "median_days": 45.0, "sigma": 0.4},
                "cost_usd_per_rig": 150.0,
            }
        ],
        "hardware": [
            {
                "name": "s19_pro",
                "coin": "bitcoin",
                "hashrate_hs": 1.1e14,
                "power_w": 3250.0,
                "release": D(2020, 5, 1),
                "price_usd": 5000.0,
            }
        ],
        "pools": _pools(),
        "fleet": [
            {"region": "sichuan", "hardware": "s19_pro", "rigs": 20000, "pool": "f2pool"},
            {
                "region": "xinjiang",
                "hardware": "s19_pro",
                "rigs": 10000,
                "pool": {"f2pool": 0.7, "foundry": 0.3},
            },
            {
                "region": "georgia",
                "hardware": "s19_pro",
                "rigs": 900,
                "pool": "foundry",
                "facility": "georgia_dc",
            },
        ],
        "purchases": [
            {
                "region": "georgia",
                "hardware": "s19_pro",
                "pool": "foundry",
                "start": D(2021, 7, 1),
                "end": D(2021, 12, 31),
                "rigs_per_day": 50.0,
            }
        ],
        "facilities": [_facility()],
        "services": [
            {
                "name": "huobi",
                "kind": "exchange",
                "regions": ["china"],
                "stop_new_users": D(2021, 9, 26),
                "close": D(2021, 12, 31),
                "haircut": 0.05,
            }
        ],
        "policies": _policies(),
        "behaviour": {"horizon_days": 180.0, "destinations": ["usa"]},
        "observed": {
            "coin": "bitcoin",
            "hashrate": [{"date": D(2021, 5, 13), "hashrate_hs": 1.8e20}],
            "checks": [
                {"metric": "region_share", "name": "sichuan", "date": D(2021, 5, 1), "value": 0.1}
            ],
        },
    }


def _bitcoin() -> dict[str, Any]:
    return {
        "name": "bitcoin",
        "rule": "bitcoin",
        "subsidy_coins": 6.25,
        "halving_interval_blocks": 210000,
        "initial_height": 682000,
        "price": {
            "kind": "table",
            "interpolation": "linear",
            "points": [
                {"date": D(2021, 5, 1), "usd": 57000.0},
                {"date": D(2021, 7, 1), "usd": 33500.0},
            ],
        },
    }


def _regions() -> list[dict[str, Any]]:
    return [
        {"name": "china", "electricity_usd_per_kwh": 0.05, "carbon_g_per_kwh": 600.0},
        {
            "name": "sichuan",
            "parent": "china",
            "electricity_usd_per_kwh": 0.03,
            "carbon_g_per_kwh": 100.0,
            "capacity_mw": 100.0,
            "capacity_schedule": [{"date": D(2021, 6, 20), "mw": 0.0}],
        },
        {
            "name": "xinjiang",
            "parent": "china",
            "electricity_usd_per_kwh": 0.04,
            "carbon_g_per_kwh": 900.0,
        },
        {"name": "usa", "electricity_usd_per_kwh": 0.06, "carbon_g_per_kwh": 400.0},
        {
            "name": "georgia",
            "parent": "usa",
            "electricity_usd_per_kwh": 0.05,
            "carbon_g_per_kwh": 450.0,
            "capacity_mw": 50.0,
        },
    ]


def _pools() -> list[dict[str, Any]]:
    return [
        {
            "name": "f2pool",
            "coin": "bitcoin",
            "fee": 0.025,
            "home_region": "china",
            "events": [
                {"kind": "stop_new_users", "date": D(2021, 9, 24), "regions": ["china"]},
                {"kind": "stop_service", "date": D(2021, 9, 30), "regions": ["china"]},
            ],
        },
        {"name": "foundry", "coin": "bitcoin", "fee": 0.0, "home_region": "usa"},
    ]


def _facility() -> dict[str, Any]:
    return {
        "name": "georgia_dc",
        "region": "georgia",
        "mode": "self_mining",
        "capacity": [{"date": D(2021, 5, 1), "mw": 3.0}, {"date": D(2021, 10, 1), "mw": 30.0}],
        "orders": [
            {"date": D(2021, 10, 15), "hardware": "s19_pro", "rigs": 2000, "pool": "foundry"}
        ],
    }


def _policies() -> list[dict[str, Any]]:
    return [
        {"kind": "announcement", "date": D(2021, 5, 21), "region": "china", "risk": 0.5},
        {
            "kind": "mining_ban",
            "id": "xinjiang_ban",
            "date": D(2021, 6, 9),
            "region": "xinjiang",
            "hazard_per_day": 0.2,
        },
        {"kind": "power_cutoff", "id": "sichuan_cut", "date": D(2021, 6, 20), "region": "sichuan"},
        {"kind": "lift", "date": D(2021, 11, 1), "policy": "sichuan_cut"},
    ]


def to_yaml(doc: Any) -> str:
    """YAML text of plain data, block style, keys in insertion order."""
    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.width = 4096
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()
