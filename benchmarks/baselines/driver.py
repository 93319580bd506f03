"""Run a baseline, or hashsim's own step, over a window of days of the benchmark's world.

The world is benchmarks/workloads.py's: the tutorial scaled to a number of single rigs. Both start
from the same state — hashsim's world after its institutions have run to `first_day` (no daily
step before it) — and step the same days; institutions keep running day by day on hashsim's
simpy environment. Only the stepped days are timed, with the setup's objects frozen out of the
garbage collector's scans (gc.freeze: an easy advantage any careful baseline would take).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import simpy
from numpy.typing import NDArray

from benchmarks.baselines.institutions import Tally
from benchmarks.baselines.rules import Rig
from benchmarks.workloads import tutorial as scaled
from sim import kernels
from sim.agents.miners import daily_step, mining_hashrate
from sim.engine import start_world
from sim.recorder import Recorder
from sim.state import NUM_STATUSES, ONLINE, UNDERGROUND
from sim.world import World

KINDS = ("mesa", "simpy")


@dataclass
class Baseline:
    """Daily aggregates of one run over days first_day … first_day + days − 1, and the
    seconds its stepped days took."""

    kind: str  # "mesa", "simpy" or "hashsim"
    rigs: int  # rigs in the fleet
    first_day: int
    days: int
    seed: int
    seconds: float
    regions: list[str]  # leaf regions, the columns of `hashrate_hs`
    hashrate_hs: NDArray[np.float64]  # (days, leaves) rigs online or underground
    statuses: NDArray[np.int64]  # (days, NUM_STATUSES) rigs per status
    pool_hashrate_hs: NDArray[np.float64]  # (days, pools)
    #: per aggregate of the last day (statuses, leaf regions' and pools' hashrate): rigs in it
    #: then but not at the start, or the other way round
    churn: NDArray[np.int64]

    @property
    def rig_days_per_s(self) -> float:
        return self.rigs * self.days / self.seconds if self.seconds > 0 else float("inf")


class Runner(Protocol):
    """A baseline's fleet, set up (untimed) and ready to run days."""

    def run(self, days: int) -> list[Tally]: ...


def start(rigs: int, first_day: int, seed: int) -> tuple[simpy.Environment, World]:
    """The benchmark world with `rigs` single rigs, its institutions run up to the middle of
    `first_day` (their events of that day done, no daily step yet)."""
    env, world = start_world(scaled(rigs), seed, 0)
    env.run(until=first_day + 0.5)
    world.day = first_day
    return env, world


def rigs_of(world: World) -> list[Rig]:
    """The world's fleet as one `Rig` per rig."""
    fleet = world.fleet
    cols = [getattr(fleet, name).tolist() for name in
            ("count", "status", "region", "pool", "hw", "facility", "tier", "t_due", "t_since")]
    out: list[Rig] = []
    for row, (count, *attrs) in enumerate(zip(*cols, strict=True)):
        out.extend(Rig(row, *attrs) for _ in range(count))
    return out


def _factory(kind: str) -> Callable[[simpy.Environment, World, list[Rig], int], Runner]:
    if kind == "mesa":
        from benchmarks.baselines.mesa_rigs import RigModel
        return RigModel
    if kind == "simpy":
        from benchmarks.baselines.simpy_rigs import SimpyRigs
        return SimpyRigs
    raise ValueError(f"unknown baseline {kind!r}; one of {KINDS}")


def run_baseline(kind: str, rigs: int, first_day: int, days: int, seed: int) -> Baseline:
    """Run baseline `kind` ("mesa" or "simpy") on the benchmark world of `rigs` rigs over
    `days` days from `first_day`; its daily aggregates and the seconds of the days stepped."""
    make = _factory(kind)
    env, world = start(rigs, first_day, seed)
    fleet = rigs_of(world)
    leaves = np.flatnonzero(world.geo.is_leaf)
    num_pools = len(world.pool_fee)
    before = membership(*_columns(fleet), leaves, num_pools)
    model = make(env, world, fleet, seed)
    gc.collect()
    gc.freeze()  # the setup's objects are not rescanned by the collector while timed
    try:
        begin = time.perf_counter()
        tallies = model.run(days)
        seconds = time.perf_counter() - begin
    finally:
        gc.unfreeze()
    churn = (membership(*_columns(fleet), leaves, num_pools) != before).sum(axis=0)
    return Baseline(
        kind, len(fleet), first_day, days, seed, seconds, [world.geo.names[r] for r in leaves],
        np.array([t.region_hashrate_hs[leaves] for t in tallies]),
        np.array([t.statuses for t in tallies], dtype=np.int64),
        np.array([t.pool_hashrate_hs for t in tallies]), churn)


def run_hashsim(rigs: int, first_day: int, days: int, seed: int) -> Baseline:
    """hashsim's own daily step on the same world and window (as engine._ticks drives it:
    the institutions' events, daily_step, the chain, the recorder), timed the same way; the
    aggregates are read after each day, outside the timing."""
    env, world = start(rigs, first_day, seed)
    recorder = Recorder(world)
    rng = world.streams["chain"]
    leaves = np.flatnonzero(world.geo.is_leaf)
    n = int(world.fleet.count.sum())
    num_pools = len(world.pool_fee)
    before = membership(*_fleet_columns(world), leaves, num_pools)
    hashrate_hs, statuses, pools = [], [], []
    seconds = 0.0
    for day in range(first_day, first_day + days):
        begin = time.perf_counter()
        if env.now < day + 0.5:
            env.run(until=day + 0.5)
        world.day = day
        econ = daily_step(world)
        hashrate = mining_hashrate(world)
        blocks = np.zeros(len(world.chains), dtype=np.int64)
        reward = np.zeros(len(world.chains))
        for c, chain in enumerate(world.chains):
            mined = chain.advance_day(day, float(hashrate[c]), rng)
            blocks[c], reward[c] = mined.blocks, mined.reward_coins
        recorder.record(day, econ, hashrate, blocks, reward)
        seconds += time.perf_counter() - begin
        region, status, pool = aggregates(world)
        hashrate_hs.append(region[leaves])
        statuses.append(status)
        pools.append(pool)
    churn = (membership(*_fleet_columns(world), leaves, num_pools) != before).sum(axis=0)
    return Baseline("hashsim", n, first_day, days, seed, seconds,
                    [world.geo.names[r] for r in leaves], np.array(hashrate_hs),
                    np.array(statuses, dtype=np.int64), np.array(pools), churn)


def aggregates(world: World) -> tuple[NDArray[np.float64], NDArray[np.int64],
                                      NDArray[np.float64]]:
    """hashsim's fleet in the baselines' terms: hashrate by region, rigs per status, hashrate
    by pool."""
    fleet = world.fleet
    mining = (fleet.status == ONLINE) | (fleet.status == UNDERGROUND)
    hs = np.where(mining, fleet.count * world.hw_hashrate_hs[fleet.hw], 0.0)
    status = np.bincount(fleet.status.astype(np.intp), weights=fleet.count,
                         minlength=NUM_STATUSES).astype(np.int64)
    return (kernels.bincount(fleet.region, hs, world.num_regions), status,
            kernels.bincount(fleet.pool, hs, len(world.pool_fee)))


I64 = NDArray[np.int64]


def membership(status: I64, region: I64, pool: I64, leaves: NDArray[np.intp], num_pools: int
               ) -> NDArray[np.bool_]:
    """Whether each rig counts in each aggregate (statuses, then leaf regions' and pools'
    hashrate), shape (rigs, aggregates)."""
    mining = (status == ONLINE) | (status == UNDERGROUND)
    return np.stack([*(status == s for s in range(NUM_STATUSES)),
                     *(mining & (region == r) for r in leaves),
                     *(mining & (pool == p) for p in range(num_pools))], axis=1)


def _columns(rigs: list[Rig]) -> tuple[I64, I64, I64]:
    return (np.array([r.status for r in rigs]), np.array([r.region for r in rigs]),
            np.array([r.pool for r in rigs]))


def _fleet_columns(world: World) -> tuple[I64, I64, I64]:
    """Status, region and pool of each rig of a fleet of single rigs (rows keep their rig in
    rig resolution)."""
    fleet = world.fleet
    if not bool(np.all(fleet.count == 1)):
        raise ValueError("expected a fleet of single rigs")
    return (fleet.status.astype(np.int64), fleet.region.astype(np.int64),
            fleet.pool.astype(np.int64))
