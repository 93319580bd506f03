"""Semantic checks that the models cannot make alone: names, references, coins, dates, lifts.

The checks of the region tree, capacity and routes are in :mod:`sim.validation.regions`;
:func:`reference_findings` runs them all in a fixed order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from sim.scenario import Lift, PolicyBase, PoolServiceBan, RegionalPolicy, Scenario
from sim.validation.common import FieldPath, Finding, did_you_mean
from sim.validation.regions import (
    RegionTree,
    over_capacity,
    parent_cycles,
    rigs_in_parents,
    route_findings,
)


def check_references(scenario: Scenario) -> list[tuple[FieldPath, str]]:
    """Semantic checks that the models cannot make alone.

    Names (unique, and every reference resolvable, with a did-you-mean), the region tree (no
    cycles, rigs only in leaf regions), coins of pools and hardware, date order of pool events,
    purchases and lifts, the initial fleet's power against capacity, and the route graph
    (destinations reachable, banned rigs able to leave).

    Returns
    -------
    list of (path, message)
        One entry per problem, ``path`` being the field at fault; empty when all is well.
    """
    return [(f.path, f.message) for f in reference_findings(scenario)]


def reference_findings(scenario: Scenario) -> list[Finding]:
    """The findings of :func:`check_references`, in a fixed order."""
    tree = RegionTree(scenario)
    findings: list[Finding] = []
    findings += _unknown_names(scenario)
    findings += parent_cycles(scenario, tree)
    names_resolve = not findings
    findings += rigs_in_parents(scenario, tree)
    findings += _coin_mismatches(scenario)
    if names_resolve:
        findings += _pools_serve(scenario, tree)
    findings += _facility_regions(scenario)
    findings += _date_order(scenario)
    findings += _lifts(scenario)
    findings += _lifted_twice(scenario)
    findings += over_capacity(scenario)
    if names_resolve:  # with a name wrong, the route graph would only echo it
        findings += route_findings(scenario, tree)
    return findings


_PLURAL = {"region": "regions", "coin": "coins", "hardware": "hardware models",
           "pool": "pools", "facility": "facilities"}  # fmt: skip


def _unknown_names(scenario: Scenario) -> Iterator[Finding]:
    known = {
        "region": [r.name for r in scenario.regions],
        "coin": [c.name for c in scenario.coins],
        "hardware": [h.name for h in scenario.hardware],
        "pool": [p.name for p in scenario.pools],
        "facility": [f.name for f in scenario.facilities],
    }
    for kind, path, name, at_key in _references(scenario):
        if name not in known[kind]:
            yield Finding(path, _unknown_message(kind, name, known[kind]), at_key)


def _unknown_message(kind: str, name: str, names: list[str]) -> str:
    message = f"unknown {kind} '{name}'"
    hint = did_you_mean(name, names)
    if hint:
        return f"{message}; {hint}"
    if not names:
        return f"{message}; there are no {_PLURAL[kind]}: add it under '{_PLURAL[kind]}:'"
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return f"{message}; known {_PLURAL[kind]}: {shown}"


def _references(scenario: Scenario) -> Iterator[tuple[str, FieldPath, str, bool]]:
    """Every (kind, path, name, at_key) where a section names a region, coin, pool, ..."""
    for i, region in enumerate(scenario.regions):
        if region.parent is not None:
            yield "region", ("regions", i, "parent"), region.parent, False
    for i, route in enumerate(scenario.routes):
        yield "region", ("routes", i, "origin"), route.origin, False
        yield "region", ("routes", i, "destination"), route.destination, False
    for i, hw in enumerate(scenario.hardware):
        yield "coin", ("hardware", i, "coin"), hw.coin, False
    yield from _rig_references(scenario)
    yield from _pool_references(scenario)
    for i, service in enumerate(scenario.services):
        for k, name in enumerate(service.regions):
            yield "region", ("services", i, "regions", k), name, False
    yield from _policy_references(scenario)
    for k, name in enumerate(scenario.behaviour.destinations or []):
        yield "region", ("behaviour", "destinations", k), name, False
    yield from _observed_references(scenario)


def _rig_references(scenario: Scenario) -> Iterator[tuple[str, FieldPath, str, bool]]:
    for section in ("fleet", "purchases"):
        for i, entry in enumerate(getattr(scenario, section)):
            yield "region", (section, i, "region"), entry.region, False
            yield "hardware", (section, i, "hardware"), entry.hardware, False
            for path, pool, at_key in _pool_names((section, i, "pool"), entry.pool):
                yield "pool", path, pool, at_key
            facility = getattr(entry, "facility", None)
            if facility is not None:
                yield "facility", (section, i, "facility"), facility, False
    for i, facility in enumerate(scenario.facilities):
        yield "region", ("facilities", i, "region"), facility.region, False
        for k, order in enumerate(facility.orders):
            yield "hardware", ("facilities", i, "orders", k, "hardware"), order.hardware, False
            yield "pool", ("facilities", i, "orders", k, "pool"), order.pool, False


def _pool_references(scenario: Scenario) -> Iterator[tuple[str, FieldPath, str, bool]]:
    for i, pool in enumerate(scenario.pools):
        yield "coin", ("pools", i, "coin"), pool.coin, False
        if pool.home_region is not None:
            yield "region", ("pools", i, "home_region"), pool.home_region, False
        for k, name in enumerate(pool.regions or []):
            yield "region", ("pools", i, "regions", k), name, False
        for e, event in enumerate(pool.events):
            for k, name in enumerate(getattr(event, "regions", None) or []):
                yield "region", ("pools", i, "events", e, "regions", k), name, False


def _policy_references(scenario: Scenario) -> Iterator[tuple[str, FieldPath, str, bool]]:
    for i, policy in enumerate(scenario.policies):
        if isinstance(policy, RegionalPolicy):
            yield "region", ("policies", i, "region"), policy.region, False
        if isinstance(policy, PoolServiceBan):
            for k, name in enumerate(policy.pools or []):
                yield "pool", ("policies", i, "pools", k), name, False


def _observed_references(scenario: Scenario) -> Iterator[tuple[str, FieldPath, str, bool]]:
    observed = getattr(scenario, "observed", None)
    if observed is None:
        return
    yield "coin", ("observed", "coin"), observed.coin, False
    shares = {"region_share": "region", "pool_share": "pool"}
    for k, check in enumerate(observed.checks):
        kind = shares.get(getattr(check, "metric", ""))
        if kind is not None:
            yield kind, ("observed", "checks", k, "name"), check.name, False


def _pool_names(
    path: FieldPath, pool: str | dict[str, float]
) -> Iterator[tuple[FieldPath, str, bool]]:
    if isinstance(pool, str):
        yield path, pool, False
    else:
        for name in pool:
            yield (*path, name), name, True


def _coin_mismatches(scenario: Scenario) -> Iterator[Finding]:
    hw_coin = {h.name: h.coin for h in reversed(scenario.hardware)}
    pool_coin = {p.name: p.coin for p in reversed(scenario.pools)}
    rows: list[tuple[FieldPath, str, str | dict[str, float]]] = [
        *((("fleet", i), e.hardware, e.pool) for i, e in enumerate(scenario.fleet)),
        *((("purchases", i), p.hardware, p.pool) for i, p in enumerate(scenario.purchases)),
    ]
    for j, facility in enumerate(scenario.facilities):
        rows += [(("facilities", j, "orders", k), o.hardware, o.pool)
                 for k, o in enumerate(facility.orders)]  # fmt: skip
    for row, hardware, pools in rows:
        coin = hw_coin.get(hardware)
        for path, pool, at_key in _pool_names((*row, "pool"), pools):
            if coin is not None and pool_coin.get(pool, coin) != coin:
                message = (
                    f"pool '{pool}' mines '{pool_coin[pool]}' but hardware '{hardware}' mines "
                    f"'{coin}'; pick a pool that mines '{coin}'"
                )
                yield Finding(path, message, at_key)


def _pools_serve(scenario: Scenario, tree: RegionTree) -> Iterator[Finding]:
    """Rigs at the start, bought or ordered must mine for a pool that serves their region."""
    served: dict[str, set[str] | None] = {}
    listed: dict[str, list[str]] = {}
    for spec in reversed(scenario.pools):
        listed[spec.name] = spec.regions or []
        served[spec.name] = (None if spec.regions is None
                             else set().union(*(tree.subtree(r) for r in spec.regions)))
    region_of = {f.name: f.region for f in reversed(scenario.facilities)}
    rows: list[tuple[FieldPath, str, str | dict[str, float]]] = [
        *((("fleet", i), e.region, e.pool) for i, e in enumerate(scenario.fleet)),
        *((("purchases", i), p.region, p.pool) for i, p in enumerate(scenario.purchases)),
    ]
    for j, facility in enumerate(scenario.facilities):
        rows += [(("facilities", j, "orders", k), region_of[facility.name], o.pool)
                 for k, o in enumerate(facility.orders)]  # fmt: skip
    for row, region, pools in rows:
        for path, pool, at_key in _pool_names((*row, "pool"), pools):
            regions = served.get(pool)
            if regions is not None and region not in regions:
                yield Finding(path, f"pool '{pool}' does not serve region '{region}' (it serves "
                              f"{', '.join(listed[pool])}); pick a pool that does, or add the "
                              "region to the pool's `regions`", at_key)


def _facility_regions(scenario: Scenario) -> Iterator[Finding]:
    region_of = {f.name: f.region for f in reversed(scenario.facilities)}
    for i, entry in enumerate(scenario.fleet):
        where = region_of.get(entry.facility) if entry.facility is not None else None
        if where is not None and where != entry.region:
            message = (
                f"facility '{entry.facility}' is in region '{where}', not in '{entry.region}' "
                f"like this fleet entry; set region: {where} or pick a facility in "
                f"'{entry.region}'"
            )
            yield Finding(("fleet", i, "facility"), message)


def _date_order(scenario: Scenario) -> Iterator[Finding]:
    for i, pool in enumerate(scenario.pools):
        for k in range(1, len(pool.events)):
            date, previous = pool.events[k].date, pool.events[k - 1].date
            if date < previous:
                message = (
                    f"pool events must be in date order: {date} is before the previous "
                    f"event ({previous})"
                )
                yield Finding(("pools", i, "events", k, "date"), message)
    for i, facility in enumerate(scenario.facilities):
        first = facility.capacity[0].date
        if first > scenario.start:
            message = (
                f"the first capacity step ({first}) is after the start ({scenario.start}), but "
                "it applies from the start; if the facility opens later, begin with "
                f"{{date: {scenario.start}, mw: 0}}"
            )
            yield Finding(("facilities", i, "capacity", 0, "date"), message)
    for i, purchase in enumerate(scenario.purchases):
        if purchase.start > scenario.end:
            message = (
                f"the purchase starts on {purchase.start}, after the scenario ends "
                f"({scenario.end}); start it by {scenario.end} or remove it"
            )
            yield Finding(("purchases", i, "start"), message)


def _lifts(scenario: Scenario) -> Iterator[Finding]:
    by_id = {}
    index = {}
    for i, policy in reversed(list(enumerate(scenario.policies))):
        if policy.id is not None:
            by_id[policy.id], index[policy.id] = policy, i
    for i, lift in enumerate(scenario.policies):
        if not isinstance(lift, Lift):
            continue
        target = by_id.get(lift.policy)
        if target is None:
            hint = did_you_mean(lift.policy, by_id) or (
                f"known ids: {', '.join(by_id)}" if by_id else "give the policy an 'id:'"
            )
            message = f"no policy has the id '{lift.policy}'; {hint}"
            yield Finding(("policies", i, "policy"), message)
        elif isinstance(target, Lift):
            message = f"policy '{lift.policy}' is itself a lift; a lift ends a policy"
            yield Finding(("policies", i, "policy"), message)
        elif lift.date < target.date:
            message = (
                f"the lift ({lift.date}) is dated before the policy '{lift.policy}' it ends "
                f"({target.date}); a lift must be on or after it"
            )
            yield Finding(("policies", i, "date"), message)
        elif index[lift.policy] > i and _first_day(scenario, lift) == _first_day(scenario, target):
            # policies due on the same day take effect in the order listed
            day = _first_day(scenario, lift)
            when = f"{day} (the start)" if day == scenario.start else str(day)
            message = (
                f"the lift and the policy '{lift.policy}' it ends (policies.{index[lift.policy]}) "
                f"both take effect on {when}, and policies of one day take effect in the order "
                "listed, so this lift would end nothing; list it after the policy"
            )
            yield Finding(("policies", i), message)


def _lifted_twice(scenario: Scenario) -> Iterator[Finding]:
    """A second lift of one policy (ids are unique, so it would end nothing): found at the
    later one, in the order they take effect (by day, then as listed)."""
    lifts = sorted((_first_day(scenario, p), i) for i, p in enumerate(scenario.policies)
                   if isinstance(p, Lift))
    first: dict[str, int] = {}
    for _, i in lifts:
        lift = scenario.policies[i]
        assert isinstance(lift, Lift)
        if lift.policy in first:
            j = first[lift.policy]
            yield Finding(("policies", i, "policy"), (
                f"policy '{lift.policy}' is already lifted by policies.{j} "
                f"({scenario.policies[j].date}), so this lift would end nothing; to impose it "
                "again, add a new policy with its own id and lift that"))
        else:
            first[lift.policy] = i


def _first_day(scenario: Scenario, policy: PolicyBase) -> dt.date:
    """The day a policy takes effect: its date, or the start for one dated before it."""
    return max(policy.date, scenario.start)
