"""Hosting capacity: facilities (capacity schedules, rig orders) and regions' general capacity.

Capacity is in MW of rig power. Rigs that arrive, are delivered or are bought wait as `queued`
until capacity is free, first come first served: a rig ordered by a facility waits for that
facility; any other rig takes a hosting facility in its region first, then the region's general
capacity. Rigs online or offline occupy capacity; rigs forced off, in transit or underground do
not.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy
from numpy.typing import NDArray

from sim import compiled, kernels, rowsearch
from sim.agents.pools import ensure_served
from sim.state import NEVER, NUM_SUBS, OFFLINE, ONLINE, QUEUED, SUSPENDED, keys_of
from sim.world import World, add_rigs, day_index

#: Queues shorter than this are sorted whole (see _within_reach).
REACH_MIN_QUEUE = 4096


def occupancy_mw(world: World) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """MW occupied in each region's general capacity (R,) and in each facility (F,)."""
    fleet = world.fleet
    racked = fleet.tally[:, ONLINE] + fleet.tally[:, OFFLINE] + fleet.tally[:, SUSPENDED]
    mw = racked * world.hw_power_w[fleet.group("hw")] / 1e6
    fac = fleet.group("facility")
    general = kernels.bincount(fleet.group("region"), np.where(fac < 0, mw, 0.0),
                               world.num_regions)
    in_fac = kernels.bincount(np.maximum(fac, 0), np.where(fac >= 0, mw, 0.0),
                              len(world.fac_region))
    return general, in_fac[: len(world.fac_region)]


def admit_queued(world: World) -> None:
    """Bring queued rigs online where capacity is free, first come first served."""
    fleet = world.fleet
    if not fleet.tally[:, QUEUED].any():
        return
    general_used, fac_used = occupancy_mw(world)
    fac_free = world.fac_capacity_mw - fac_used
    general_free = world.capacity_mw - general_used
    dark = world.cutoff | world.outage
    fac_free[dark[world.fac_region]] = 0.0
    general_free[dark] = 0.0
    # only queues with free MW can admit anyone: the others' rows are not even looked up
    g = fleet.group
    gfac, greg = g("facility"), g("region")
    hosting = np.where(world.fac_hosting, np.maximum(fac_free, 0.0), 0.0)
    region_free = np.maximum(general_free, 0.0) + np.bincount(
        world.fac_region, hosting, minlength=world.num_regions)
    fac_of = np.maximum(fac_free, 0.0)[np.maximum(gfac, 0)] if len(fac_free) else 0.0
    free = np.where(gfac >= 0, fac_of, region_free[greg])
    groups = np.flatnonzero((fleet.tally[:, QUEUED] > 0) & (free > 0))
    if len(groups) == 0:
        return
    queued = _within_reach(world, groups, fleet.rows_with(keys_of(groups, QUEUED)),
                           np.concatenate([region_free, np.maximum(fac_free, 0.0)]))
    # first come first served: by day queued, then by row (the rows come in row order, so a
    # stable sort by day is enough: a radix sort where days fit in 16 bits)
    since = fleet.t_since[queued]
    queued = queued[kernels.radix_order(since, world.scenario.num_days + 1)]
    # Queue by queue, in the order of a copy's facilities and regions; a batch world's copies
    # (sim/batch.py) each have the same queues, served together, each from its own capacity.
    num_f = len(world.fac_region) // world.copies
    num_r = world.region_block
    group = fleet.group_of(queued)
    at_facility = g("facility")[group]
    ordered = at_facility >= 0
    facility = at_facility[ordered]
    for f in np.unique(facility % num_f).tolist() if num_f else []:
        mine = facility % num_f == f
        at = facility[mine]  # the facility of each row's copy
        fac_free -= _admit(world, queued[ordered][mine], at, fac_free, at)
    rest = queued[~ordered]
    region = g("region")[group[~ordered]]
    for r in np.unique(region % num_r).tolist():
        mine = region % num_r == r
        rows = rest[mine]
        copy = region[mine] // num_r
        for f in np.flatnonzero((world.fac_region[:num_f] == r)
                                & world.fac_hosting[:num_f]).tolist():
            at = copy * num_f + f
            fac_free -= _admit(world, rows, at, fac_free, at)
            queued_still = fleet.status[rows] == QUEUED
            rows, copy = rows[queued_still], copy[queued_still]
        _admit(world, rows, copy * num_r + r, general_free, -1)


def _within_reach(world: World, groups: NDArray[np.intp], queued: NDArray[np.intp],
                  free: NDArray[np.float64]) -> NDArray[np.intp]:
    """Of the `queued` rows (of `groups`), those that could be admitted today: in each queue
    (a region's rigs, for its hosting facilities and then its general capacity; or a
    facility's orders), those that came no later than the day on which the queue's MW first
    reach its `free` MW (regions first, then facilities). Later ones find no room whatever the
    order, so the queue need not be sorted past them."""
    if len(queued) < REACH_MIN_QUEUE:  # sorting a short queue costs nothing
        return queued
    fleet = world.fleet
    n = fleet.size
    # a row's queue and power follow from its key: two columns are read per row, not five
    g = fleet.group
    unit_of_key = np.full(fleet.num_groups * NUM_SUBS, -1, dtype=np.int64)
    unit_of_key[keys_of(groups, QUEUED)] = np.where(
        g("facility") >= 0, world.num_regions + g("facility"), g("region"))[groups]
    return compiled.within_reach(
        queued, fleet.cols["key"][:n], unit_of_key, np.repeat(world.hw_power_w[g("hw")], NUM_SUBS),
        fleet.cols["t_since"][:n], None if fleet.single else fleet.cols["count"][:n], free,
        world.scenario.num_days + 1, large=n > rowsearch.LARGE)


def _admit(world: World, rows: NDArray[np.intp], queue: NDArray[np.intp],
           free_mw: NDArray[np.float64], facility: NDArray[np.intp] | int) -> NDArray[np.float64]:
    """Admit queued `rows` (in order) into the free MW of their queue (`free_mw[queue[i]]`:
    one queue, or one per copy of a batch world), first come first served; the rigs go
    online in `facility` (one, or one per row). Returns the MW taken, by queue."""
    fleet = world.fleet
    taken = np.zeros(len(free_mw))
    if len(rows) == 0 or not (free_mw[queue] > 0.0).any():
        return taken
    mw_per_rig = world.hw_power_w[fleet.hw[rows]] / 1e6
    admitted, by_queue = kernels.admit_fifo_queues(fleet.rigs_of(rows), mw_per_rig, queue,
                                                   free_mw)
    if not admitted.any():
        return taken
    taken += by_queue
    where = facility if isinstance(facility, int) else facility[admitted > 0]
    fleet.set(fleet.split(rows, admitted), status=ONLINE, facility=where, t_since=world.day)
    return taken


class GridOperator:
    """Steps regions' general hosting capacity along their schedules."""

    def __init__(self, env: simpy.Environment, world: World) -> None:
        self.env, self.world = env, world
        days = sorted({max(day_index(world.scenario, s.date), 0)
                       for r in world.scenario.regions for s in r.capacity_schedule})
        env.process(self._run(days))

    def _run(self, days: list[int]) -> Generator[Any, Any, None]:
        for day in days:
            yield self.env.timeout(day - self.env.now)
            before = self.world.capacity_mw.copy()
            self.world.capacity_mw = self.world.capacity_on(day)
            for r in np.flatnonzero(self.world.capacity_mw != before):
                self.world.log(day, "capacity", "grid", self.world.geo.names[r],
                               f"hosting capacity in {self.world.geo.names[r]} now "
                               f"{self.world.capacity_mw[r]:,.0f} MW")


class FacilityOperator:
    """A facility's capacity steps and rig deliveries."""

    def __init__(self, env: simpy.Environment, world: World, index: int) -> None:
        self.env, self.world, self.index = env, world, index
        spec = world.scenario.facilities[index]
        for step in spec.capacity[1:]:
            env.process(self._capacity(day_index(world.scenario, step.date), step.mw))
        for k, _order in enumerate(spec.orders):
            env.process(self._deliver(k))

    def _capacity(self, day: int, mw: float) -> Generator[Any, Any, None]:
        yield self.env.timeout(max(day, 0))
        self.world.fac_capacity_mw[self.index] = mw
        name = self.world.scenario.facilities[self.index].name
        self.world.log(self.env.now, "facility_capacity", name,
                       self.world.scenario.facilities[self.index].region,
                       f"{name} capacity now {mw:g} MW")

    def _deliver(self, k: int) -> Generator[Any, Any, None]:
        world = self.world
        spec = world.scenario.facilities[self.index]
        order = spec.orders[k]
        yield self.env.timeout(max(day_index(world.scenario, order.date), 0))
        hw = [h.name for h in world.scenario.hardware].index(order.hardware)
        pool = [p.name for p in world.scenario.pools].index(order.pool)
        first = world.fleet.size
        add_rigs(world.fleet, order.rigs, world.scenario.resolution, status=QUEUED,
                 region=int(world.fac_region[self.index]), pool=pool, hw=hw,
                 facility=self.index, t_since=int(self.env.now), t_due=NEVER)
        ensure_served(world, np.arange(first, world.fleet.size, dtype=np.intp))
        world.log(self.env.now, "delivery", spec.name, spec.region,
                  f"{order.rigs:,} {order.hardware} delivered to {spec.name}")
