"""Pool operators: stop new users, stop serving regions, shut down with a wind-down.

When a pool stops serving a miner, the miner picks another pool by a logit over fee, size
(log share) and affinity (the pool is based in the miner's country); a fraction may stay through
a VPN. Miners for whom no pool is left are forced off and decide what to do (sim/agents/miners).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy
from numpy.typing import NDArray

from sim import kernels
from sim.cohorts import Cohorts, cohorts_among, cohorts_of
from sim.scenario import Pool, PoolShutdown, PoolStopNewUsers, PoolStopService
from sim.state import (
    BANNED_OFF,
    HIBERNATING,
    NEVER,
    OFFLINE,
    ONLINE,
    QUEUED,
    SUSPENDED,
    UNDERGROUND,
    keys_of,
)
from sim.world import World, day_index

Rows = NDArray[np.intp]


def pool_utilities(world: World, regions: NDArray[np.intp]) -> NDArray[np.float64]:
    """Utility of each pool for miners in each of `regions`, shape (len(regions), P)."""
    weights = world.scenario.behaviour.pool_choice
    share = np.maximum(world.pool_share, 1e-6)
    same_country = world.pool_country[None, :] == world.geo.country_idx[regions][:, None]
    return (-weights.fee * world.pool_fee[None, :] + weights.size * np.log(share)[None, :]
            + weights.affinity * same_country)


def reassign(world: World, movers: Cohorts, moving: NDArray[np.int64]) -> None:
    """Move `moving[i]` rigs of cohort i to another pool, or force them off if none is left.

    The cohorts must not be in transit (their pool is checked when they arrive).
    """
    keep = moving > 0
    if not keep.any():
        return
    movers, moving = movers.subset(keep), moving[keep]
    fleet = world.fleet
    region, old = movers.origin, movers.pool
    coin = world.hw_coin[movers.hw]
    avail = (world.pool_open[None, :] & world.pool_accepts[:, region].T
             & (world.pool_coin[None, :] == coin[:, None]))
    avail[np.arange(len(movers)), old] = False
    probs = kernels.softmax(pool_utilities(world, region), avail)
    alloc = world.allocate("pools", world.region_copy(region), moving, probs)
    stranded = moving - alloc.sum(axis=1)
    movers = movers.narrow(moving)
    for p in np.flatnonzero(alloc.sum(axis=0)):
        fleet.set(movers.take(alloc[:, p]), pool=int(p))
    if stranded.any():
        fleet.set(movers.take(stranded), status=BANNED_OFF, t_since=world.day, t_due=NEVER)


def leave_pools(world: World, pools: NDArray[np.bool_], regions: NDArray[np.bool_],
                fraction: float, underground: bool = False) -> None:
    """A `fraction` of the rigs of `pools` in `regions` (not in transit or retired; underground
    ones only with `underground`: a pool that shuts down loses its hidden miners too, one
    that stops serving a region does not see them) leave for another pool."""
    if fraction <= 0.0:
        return
    fleet = world.fleet
    g = fleet.group
    groups = np.flatnonzero(pools[g("pool")] & regions[g("region")])
    subs = (ONLINE, OFFLINE, BANNED_OFF, QUEUED, HIBERNATING, SUSPENDED,
            *((UNDERGROUND,) if underground else ()))
    keys = np.sort(np.concatenate([keys_of(groups, s) for s in subs]))
    rng = world.streams["pools"]
    members = cohorts_of(world, keys, rng)
    if len(members) == 0:
        return
    reassign(world, members, world.draw(
        "pools", world.region_copy(members.origin),
        lambda gen, w: kernels.thin(gen, members.counts[w], fraction)))


def ensure_served(world: World, rows: Rows) -> None:
    """Rigs whose pool is closed or does not serve their region pick another pool."""
    fleet = world.fleet
    pool, region = fleet.group("pool"), fleet.group("region")
    served = world.pool_open[pool] & world.pool_serves[pool, region]  # by group
    bad = rows[~served[fleet.group_of(rows)]]
    if len(bad) == 0:
        return
    movers = cohorts_among(world, bad, world.streams["pools"])
    reassign(world, movers, movers.counts.copy())


def stop_service(world: World, pool_mask: NDArray[np.bool_], region_mask: NDArray[np.bool_],
                 vpn_leakage: float) -> None:
    """Pools in `pool_mask` stop serving `region_mask`; all but `vpn_leakage` of miners leave."""
    world.pool_serves[np.ix_(pool_mask, region_mask)] = False
    world.pool_accepts[np.ix_(pool_mask, region_mask)] = False
    leave_pools(world, pool_mask, region_mask, 1.0 - vpn_leakage)


class PoolOperator:
    """A pool's life events as a simpy process."""

    def __init__(self, env: simpy.Environment, world: World, index: int) -> None:
        self.env, self.world, self.index = env, world, index
        self.spec: Pool = world.scenario.pools[index]
        for event in self.spec.events:
            env.process(self._on(event))

    def _regions(self, names: list[str] | None) -> NDArray[np.bool_]:
        geo = self.world.geo
        if names is None:
            return np.ones(geo.num_regions, dtype=bool)
        return np.any(geo.covers[[geo.index(n) for n in names]], axis=0)

    def _mask(self) -> NDArray[np.bool_]:
        mask = np.zeros(len(self.world.scenario.pools), dtype=bool)
        mask[self.index] = True
        return mask

    def _wait_until(self, day: int) -> Any:
        return self.env.timeout(max(day, 0) - self.env.now)

    def _on(self, event: PoolStopNewUsers | PoolStopService | PoolShutdown
            ) -> Generator[Any, Any, None]:
        world, name = self.world, self.spec.name
        if isinstance(event, PoolShutdown):
            yield from self._shutdown(event)
            return
        yield self._wait_until(day_index(world.scenario, event.date))
        where = ", ".join(event.regions) if event.regions else "everywhere"
        regions = self._regions(event.regions)
        if isinstance(event, PoolStopNewUsers):
            world.pool_accepts[self.index, regions] = False
            world.log(self.env.now, "pool_stop_new_users", name, where,
                      f"{name} stops accepting new miners ({where})")
        else:
            stop_service(world, self._mask(), regions, event.vpn_leakage)
            world.log(self.env.now, "pool_stop_service", name, where,
                      f"{name} stops serving miners ({where}); VPN leakage "
                      f"{event.vpn_leakage:.0%}")

    def _shutdown(self, event: PoolShutdown) -> Generator[Any, Any, None]:
        world, name = self.world, self.spec.name
        end = day_index(world.scenario, event.date)
        start = end - event.wind_down_days
        yield self._wait_until(start)
        if event.wind_down_days > 0:
            world.pool_accepts[self.index, :] = False
            world.log(self.env.now, "pool_wind_down", name, "",
                      f"{name} winds down: miners leave until {event.date}")
            while self.env.now < end:
                leave_pools(world, self._mask(), np.ones(world.num_regions, dtype=bool),
                            1.0 / (end - self.env.now), underground=True)
                yield self.env.timeout(1)
        world.pool_open[self.index] = False
        world.pool_serves[self.index, :] = False
        world.pool_accepts[self.index, :] = False
        leave_pools(world, self._mask(), np.ones(world.num_regions, dtype=bool), 1.0,
                    underground=True)
        world.log(self.env.now, "pool_shutdown", name, "", f"{name} shuts down")
