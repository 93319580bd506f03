"""Builds the world, starts the institutions and runs the days.

Institutions are simpy processes (market, regulator, pool operators, facility operators, grid,
service providers); the daily tick runs after every event due that day (a lower priority), so
an event dated d is in force on day d.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import pandas as pd
import simpy

from sim import compiled, kernels, rowsearch
from sim.agents.facilities import FacilityOperator, GridOperator
from sim.agents.market import Market
from sim.agents.miners import daily_step, mining_hashrate
from sim.agents.pools import PoolOperator
from sim.agents.regulators import Regulator, refresh_regions
from sim.agents.services import ServiceProvider
from sim.chain import Chain, fee_path
from sim.recorder import Recorder
from sim.rng import Streams
from sim.scenario import Scenario
from sim.world import World, build_world

#: simpy orders same-time events by priority (0 urgent, 1 normal); the tick comes after both,
#: and the start of a day before both (institutions acting on day d see world.day == d).
TICK_PRIORITY = 2
DAY_START_PRIORITY = 0
#: In cohort resolution, merge identical rows this often (days), and whenever the fleet has
#: doubled in rows since the last merge.
COMPACT_EVERY_DAYS = 7


class TickTimeout(simpy.events.Event):
    """A timeout that fires after (or, with `priority` 0, before) every normal event
    scheduled for the same time."""

    def __init__(self, env: simpy.Environment, delay: float, priority: int = TICK_PRIORITY
                 ) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, priority, delay)  # type: ignore[arg-type]


def _day_starts(env: simpy.Environment, world: World) -> Generator[Any, Any, None]:
    """Set `world.day` at the start of each day, before the institutions act on it."""
    for day in range(1, world.scenario.num_days):
        yield TickTimeout(env, day - env.now, DAY_START_PRIORITY)
        world.day = day


def start_world(scenario: Scenario, seed: int, replicate: int, sample: int | None = None
                ) -> tuple[simpy.Environment, World]:
    """The world at day 0 with its institutions started."""
    world = build_world(scenario, Streams(seed, replicate, sample))
    if world.fleet.size > rowsearch.LARGE:  # its searches will run compiled, where they can
        compiled.warm()
    env = simpy.Environment()
    env.process(_day_starts(env, world))
    Market(env, world)
    Regulator(env, world)
    GridOperator(env, world)
    for p in range(len(scenario.pools)):
        PoolOperator(env, world, p)
    for f in range(len(scenario.facilities)):
        FacilityOperator(env, world, f)
    for s in range(len(scenario.services)):
        ServiceProvider(env, world, s)
    refresh_regions(world)
    hashrate = mining_hashrate(world)
    world.chains = [Chain.start(coin, float(hashrate[c]),
                                fee_path(coin, scenario.start, scenario.num_days))
                    for c, coin in enumerate(scenario.coins)]
    fleet = world.fleet
    rigs = fleet.tally.sum(axis=1)
    pool_hs = kernels.bincount(fleet.group("pool"), rigs * world.hw_hashrate_hs[fleet.group("hw")],
                               len(scenario.pools))
    total = hashrate[world.pool_coin]
    world.pool_share = np.divide(pool_hs, total, out=np.zeros_like(pool_hs), where=total > 0)
    return env, world


def _ticks(env: simpy.Environment, world: World, recorder: Recorder,
           on_day: Callable[[int], None] | None) -> Generator[Any, Any, None]:
    rng = world.streams["chain"]
    num_c = len(world.chains)
    compacted = world.fleet.size
    for day in range(world.scenario.num_days):
        yield TickTimeout(env, day - env.now)
        world.day = day
        econ = daily_step(world)
        hashrate = mining_hashrate(world)
        blocks = np.zeros(num_c, dtype=np.int64)
        reward = np.zeros(num_c)
        for c, chain in enumerate(world.chains):
            mined = chain.advance_day(day, float(hashrate[c]), rng)
            blocks[c], reward[c] = mined.blocks, mined.reward_coins
            for rt in mined.retargets:
                world.log(rt.time_days, "retarget", chain.coin.name, "",
                          f"difficulty {rt.change_pct:+.2f}% at height {rt.height:,} "
                          f"(epoch of {rt.epoch_seconds / 86400:.4f} days)")
        recorder.record(day, econ, hashrate, blocks, reward)
        if world.scenario.resolution == "cohort" and (
                day % COMPACT_EVERY_DAYS == 0 or world.fleet.size > 2 * compacted):
            world.fleet.compact()
            compacted = max(world.fleet.size, 64)
        if on_day is not None:
            on_day(day)


def run_replicate(scenario: Scenario, seed: int, replicate: int = 0, sample: int | None = None,
                  on_day: Callable[[int], None] | None = None,
                  on_start: Callable[[World], None] | None = None
                  ) -> tuple[dict[str, pd.DataFrame], World]:
    """Run one replicate; returns its tables (without summary) and the final world.

    `on_start(world)` sees the world before the first day; `on_day(day)` runs after each day.
    """
    env, world = start_world(scenario, seed, replicate, sample)
    if on_start is not None:
        on_start(world)
    recorder = Recorder(world)
    env.process(_ticks(env, world, recorder, on_day))
    env.run(until=scenario.num_days)
    return recorder.tables(replicate), world
