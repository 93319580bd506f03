"""Batches: several replicates of one scenario run together, as one world of copies.

Replicates of a small scenario cost mostly fixed Python overhead per day (issue #4; see
docs/performance.md). A batch builds one world holding `k` independent copies of the scenario —
every region, coin, pool, hardware model, facility, service and policy once per copy, renamed
``name<SEP>copy`` — so that each numpy call of the daily step serves all copies at once. Copies
never interact: no route joins two copies, every pool, coin and facility belongs to one.

Each copy draws from its own streams, those of its replicate (``World.draw``), in the order a
world of that copy alone would draw them, so copy j of a batch gives the tables that
``run_replicate(scenario, seed, replicates[j])`` gives, whatever the other copies
(tests/test_batch.py checks this table by table).

The daily step has no loop over copies except where each copy must draw from its own
generator; the recorder stores and sums per copy. `hashsim sweep` runs replicates of one design
point and arm this way (sim/experiments/runner.py, ``batches``): a tutorial replicate costs
about 45 ms in a batch of 64 against 378 ms alone (docs/performance.md, "Batches").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from sim.rng import Streams
from sim.scenario import Scenario
from sim.world import Event, build_world

#: Most copies in a batch world: the cost per copy flattens out by then (docs/performance.md).
MAX_COPIES = 64
#: Fleet rows a batch world starts with, at most (unless one copy has more): merging one
#: copy's rows moves every copy's, so worlds of many cohorts gain from few copies only.
START_ROWS = 2048

#: Joins a name and its copy in a batch world (a private-use character: in no real name).
SEP = "\ue000"
_SUFFIX = re.compile(SEP + r"(\d+)")


def _renamer(k: int) -> Any:
    def name(value: str) -> str:
        return f"{value}{SEP}{k}"

    return name


def _copy(doc: dict[str, Any], k: int) -> dict[str, list[Any]]:
    """Every per-scenario list of `doc` (a model_dump of a Scenario) with names of copy `k`."""
    n = _renamer(k)

    def names(values: list[str] | None) -> list[str] | None:
        return None if values is None else [n(v) for v in values]

    def pool_mix(pool: str | dict[str, float]) -> str | dict[str, float]:
        return n(pool) if isinstance(pool, str) else {n(p): w for p, w in pool.items()}

    out: dict[str, list[Any]] = {}
    out["coins"] = [{**c, "name": n(c["name"])} for c in doc["coins"]]
    out["regions"] = [{**r, "name": n(r["name"]),
                       "parent": None if r["parent"] is None else n(r["parent"])}
                      for r in doc["regions"]]
    out["routes"] = [{**r, "origin": n(r["origin"]), "destination": n(r["destination"])}
                     for r in doc["routes"]]
    out["hardware"] = [{**h, "name": n(h["name"]), "coin": n(h["coin"])} for h in doc["hardware"]]
    out["pools"] = [{**p, "name": n(p["name"]), "coin": n(p["coin"]),
                     "home_region": None if p["home_region"] is None else n(p["home_region"]),
                     "regions": names(p["regions"]),
                     "events": [{**e, **({"regions": names(e["regions"])} if "regions" in e
                                         else {})} for e in p["events"]]}
                    for p in doc["pools"]]
    out["fleet"] = [{**f, "region": n(f["region"]), "hardware": n(f["hardware"]),
                     "pool": pool_mix(f["pool"]),
                     "facility": None if f["facility"] is None else n(f["facility"])}
                    for f in doc["fleet"]]
    out["purchases"] = [{**p, "region": n(p["region"]), "hardware": n(p["hardware"]),
                         "pool": pool_mix(p["pool"])} for p in doc["purchases"]]
    out["facilities"] = [{**f, "name": n(f["name"]), "region": n(f["region"]),
                          "orders": [{**o, "hardware": n(o["hardware"]), "pool": n(o["pool"])}
                                     for o in f["orders"]]}
                         for f in doc["facilities"]]
    out["services"] = [{**s, "name": n(s["name"]), "regions": names(s["regions"])}
                       for s in doc["services"]]
    policies = []
    for p in doc["policies"]:
        p = {**p, "id": None if p.get("id") is None else n(p["id"])}
        for key in ("region", "policy"):
            if key in p:
                p[key] = n(p[key])
        if p.get("pools") is not None:
            p["pools"] = names(p["pools"])
        policies.append(p)
    out["policies"] = policies
    return out


def batch_size(scenario: Scenario) -> int:
    """Most copies of `scenario` worth running as one world: MAX_COPIES, fewer where a copy
    starts with many fleet rows (china-2021: 336 rows, 6 copies; the tutorial: 6 rows, 64);
    1 outside cohort resolution."""
    if scenario.resolution != "cohort":
        return 1
    rows = build_world(scenario, Streams(0, 0)).fleet.size
    return max(1, min(MAX_COPIES, START_ROWS // max(rows, 1)))


def stack(scenario: Scenario, copies: int) -> Scenario:
    """The scenario `copies` times over in one world (copy-major: copy 0's regions, then copy
    1's, …), its names suffixed with SEP and the copy; observed figures are dropped."""
    if scenario.resolution != "cohort":
        raise ValueError("batches run in cohort resolution only")
    doc = scenario.model_dump(mode="python")
    parts = [_copy(doc, k) for k in range(copies)]
    for key in parts[0]:
        doc[key] = [item for part in parts for item in part[key]]
    behaviour = doc["behaviour"]
    if behaviour.get("destinations") is not None:
        behaviour["destinations"] = [f"{d}{SEP}{k}" for k in range(copies)
                                     for d in behaviour["destinations"]]
    doc["observed"] = None
    return Scenario.model_validate(doc)


def run_batch(scenario: Scenario, seed: int, replicates: Sequence[int],
              sample: int | None = None, on_day: Callable[[int], None] | None = None
              ) -> list[dict[str, pd.DataFrame]]:
    """The tables of each of `replicates`, run together as one world (one copy each);
    `on_day(day)` runs after each day of all of them."""
    from sim.engine import run_batch_world

    return run_batch_world(scenario, stack(scenario, len(replicates)),
                           [Streams(seed, rep, sample) for rep in replicates], on_day)


def copy_of_event(event: Event) -> int:
    """The copy an event of a batch world is about (the suffix of the names it gives)."""
    found = _SUFFIX.search(f"{event.actor} {event.region} {event.description}")
    if found is None:
        raise AssertionError(f"an event of a batch world names no copy: {event}")
    return int(found.group(1))


def unsuffixed(text: str) -> str:
    """`text` with the copy suffixes of a batch world's names taken out."""
    return _SUFFIX.sub("", text)
