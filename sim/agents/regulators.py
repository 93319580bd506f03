"""Regulators: policies as dated events that change the state of regions.

Every policy on a region covers its descendants. The regional state (ban hazard, power cut-off,
off-ramp haircut, perceived risk, incentives) is recomputed from the active policies and the
service withdrawals whenever one of them changes, so a `lift` simply removes a policy.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy
from numpy.typing import NDArray

from sim.agents.pools import stop_service
from sim.agents.suspensions import suspend
from sim.scenario import (
    Announcement,
    ExchangeBan,
    Incentive,
    Lift,
    MiningBan,
    Policy,
    PoolServiceBan,
    PowerCutoff,
    PowerOutage,
)
from sim.world import Ban, World, day_index

RegionalPolicy = (Announcement | MiningBan | PowerCutoff | PowerOutage | PoolServiceBan
                  | ExchangeBan | Incentive)


def refresh_regions(world: World, copy: int | None = None) -> None:
    """Recompute the regional policy state from active policies and service withdrawals: of
    every region, or (in a batch, sim/batch.py) of one `copy`'s regions only, when an event
    of that copy changed them (a batch of K copies would otherwise redo all K copies' state
    at each of their events)."""
    geo, num = world.geo, world.num_regions
    lo, hi = (0, num) if copy is None else (copy * world.region_block,
                                             (copy + 1) * world.region_block)
    mine = lambda region: lo <= geo.index(region) < hi  # noqa: E731
    covers = geo.covers[:, lo:hi]
    n = hi - lo
    bans = [] if copy is None else [b for b in world.bans if not b.where[lo:hi].any()]
    underground = np.full(n, np.nan)
    cutoff = np.zeros(n, dtype=bool)
    outage = np.zeros(n, dtype=bool)
    haircut, risk = np.zeros(n), geo.base_risk[lo:hi].copy()
    discount, capacity, exit_rate = np.zeros(n), np.zeros(n), np.zeros(n)
    suspend_rate, suspend_days = np.zeros(n), np.zeros(n)
    # the expected end of what forces rigs off: the latest of the policies, inf for one with
    # no known end, -inf where none
    end = np.full(n, -np.inf)
    for policy, day in world.active_policies:
        if copy is not None and not mine(policy.region):
            continue
        where = covers[geo.index(policy.region)]
        match policy:
            case MiningBan():
                if policy.hazard_per_day > 0:
                    _expect_end(end, where, policy, day)
                bans.append(Ban(geo.covers[geo.index(policy.region)], policy.hazard_per_day,
                                day + policy.grace_days, policy.ramp_days))
                if policy.underground_detection_per_day is not None:
                    # the strictest detection of the bans that allow hiding applies
                    underground[where] = np.fmax(underground[where],
                                                 policy.underground_detection_per_day)
            case PowerCutoff():
                cutoff |= where
                _expect_end(end, where, policy, day)
            case PowerOutage() if policy.share >= 1.0:  # a partial one suspends rigs instead
                outage |= where
            case ExchangeBan():
                haircut[where] += policy.haircut
            case Announcement():
                risk[where] += policy.risk
                exit_rate[where] = np.maximum(exit_rate[where], policy.exit_rate_per_day)
                if policy.suspend_rate_per_day > 0:
                    stronger = where & (policy.suspend_rate_per_day > suspend_rate)
                    suspend_rate[stronger] = policy.suspend_rate_per_day
                    suspend_days[stronger] = policy.suspend_days or 0.0
            case Incentive():
                discount[where] += policy.electricity_discount_usd_per_kwh
                capacity[where] += policy.capacity_mw
                risk[where] -= policy.risk_reduction
    for s, level in world.service_levels.items():
        service = world.scenario.services[s]
        if copy is not None and not mine(service.regions[0]):
            continue
        where = np.any(covers[[geo.index(name) for name in service.regions]], axis=0)
        haircut[where] += level * service.haircut
        risk[where] += (level > 0) * service.risk

    def put(old: np.ndarray, part: np.ndarray) -> np.ndarray:
        if copy is None:
            return part
        out = old.copy()  # (a fresh array, as a full recompute gives)
        out[lo:hi] = part
        return out

    world.set_bans(bans)
    world.underground_hazard_per_day = put(world.underground_hazard_per_day, underground)
    world.cutoff = put(world.cutoff, cutoff)
    world.haircut = put(world.haircut, np.clip(haircut, 0.0, 1.0))
    world.outage = put(world.outage, outage)
    world.risk = put(world.risk, np.maximum(risk, 0.0))
    world.discount_usd_per_kwh = put(world.discount_usd_per_kwh, discount)
    world.exit_rate_per_day = put(world.exit_rate_per_day, exit_rate)
    world.suspend_rate_per_day = put(world.suspend_rate_per_day, suspend_rate)
    world.suspend_days = put(world.suspend_days, suspend_days)
    world.expected_end_day = put(world.expected_end_day,
                                 np.where(np.isfinite(end), end, np.nan))
    world.incentive_capacity_mw = put(world.incentive_capacity_mw, capacity)
    world.capacity_mw = world.capacity_on(world.day)


def _expect_end(end: NDArray[np.float64], where: NDArray[np.bool_],
                policy: MiningBan | PowerCutoff, day: int) -> None:
    """Extend the expected end `end` (regions,) of what forces rigs off in regions `where`
    to that of `policy`, in force from `day`: its announced end, inf for none (the latest
    of the policies applies)."""
    known = np.inf if policy.expected_days is None else day + policy.expected_days
    end[where] = np.maximum(end[where], known)


def describe(policy: Policy) -> str:
    if policy.description:
        return policy.description
    match policy:
        case MiningBan():
            return (f"mining ban in {policy.region}: enforcement hazard "
                    f"{policy.hazard_per_day:g}/day")
        case PowerCutoff():
            return f"power cut off for miners in {policy.region}"
        case PowerOutage():
            return f"power outage in {policy.region}"
        case PoolServiceBan():
            return f"pools must stop serving {policy.region}"
        case ExchangeBan():
            return f"exchanges stop serving {policy.region} (off-ramp haircut {policy.haircut:.0%})"
        case Announcement():
            return f"announcement raises perceived risk in {policy.region} by {policy.risk:g}"
        case Incentive():
            return f"{policy.region} courts miners"
        case Lift():
            return f"policy '{policy.policy}' lifted"
    return policy.kind


class Regulator:
    """Applies each policy of the scenario on its date."""

    def __init__(self, env: simpy.Environment, world: World) -> None:
        self.env, self.world = env, world
        for policy in world.scenario.policies:
            env.process(self._apply(policy))

    def _apply(self, policy: Policy) -> Generator[Any, Any, None]:
        world = self.world
        day = day_index(world.scenario, policy.date)
        if isinstance(policy, PowerOutage) and policy.over_before(world.scenario.start):
            return
        yield self.env.timeout(max(day, 0))
        if isinstance(policy, Lift):
            world.active_policies = [(p, d) for p, d in world.active_policies
                                     if p.id != policy.policy]  # (an id lifts all its entries)
            self._restore_pools(policy.policy)
            region = ""
            refresh_regions(world)
        else:
            world.active_policies.append((policy, day))
            region = policy.region
            if isinstance(policy, PoolServiceBan):
                self._ban_pools(policy)
            refresh_regions(world, world.copy_of(region))
        world.log(self.env.now, policy.kind, policy.actor or "regulator", region,
                  describe(policy))
        if isinstance(policy, PowerOutage) and policy.share < 1.0 and policy.days is not None:
            until = day + int(np.ceil(policy.days))
            where = np.flatnonzero(world.geo.covers[world.geo.index(policy.region)]
                                   & world.geo.is_leaf)
            for r in where:
                suspend(world, int(r), policy.share, until, int(np.ceil(policy.return_days)))
        if isinstance(policy, PowerOutage) and policy.days is not None:
            yield self.env.timeout(day + policy.days - self.env.now)  # (begun before the start)
            world.active_policies = [(p, d) for p, d in world.active_policies if p is not policy]
            refresh_regions(world, world.copy_of(region))
            world.log(self.env.now, "power_restored", policy.actor or "regulator", region,
                      f"power back in {region}")

    def _pool_mask(self, names: list[str] | None) -> np.ndarray:
        pools = self.world.scenario.pools
        return np.array([names is None or p.name in names for p in pools], dtype=bool)

    def _ban_pools(self, policy: PoolServiceBan) -> None:
        world = self.world
        where = world.geo.covers[world.geo.index(policy.region)]
        stop_service(world, self._pool_mask(policy.pools), where, policy.vpn_leakage)

    def _restore_pools(self, policy_id: str) -> None:
        world = self.world
        for policy in world.scenario.policies:
            if isinstance(policy, PoolServiceBan) and policy.id == policy_id:
                where = world.geo.covers[world.geo.index(policy.region)]
                pools = self._pool_mask(policy.pools) & world.pool_open
                world.pool_serves[np.ix_(pools, where)] = world.initial_serves[np.ix_(pools, where)]
                world.pool_accepts[np.ix_(pools, where)] = world.initial_serves[np.ix_(pools,
                                                                                       where)]
