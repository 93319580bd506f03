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
from numpy.typing import NDArray

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


def start_world(scenario: Scenario, seed: int, replicate: int, sample: int | None = None,
                copies: list[Streams] | None = None, region_block: int = 0,
                coin_block: int = 0) -> tuple[simpy.Environment, World]:
    """The world at day 0 with its institutions started. A batch world (sim/batch.py) gives
    the streams of its `copies` and how many regions and coins each copy has."""
    world = build_world(scenario, Streams(seed, replicate, sample) if copies is None
                        else copies[0])
    if copies is not None:
        world.make_batch(copies, region_block, coin_block)
    if world.fleet.size > rowsearch.LARGE:  # its searches will run compiled, where they can
        compiled.warm()
    # the world's constant tables (routes of a copy, journeys, transit laws, destinations,
    # route rates), made with the world rather than on the first day that reads them (after
    # make_batch: the first three are a copy's)
    world.journeys()
    world.transit_tables()
    world.targets()
    world.route_rates()
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
    num_c = len(world.chains)
    compacted = _rows_by_copy(world)
    for day in range(world.scenario.num_days):
        yield TickTimeout(env, day - env.now)
        world.day = day
        econ = daily_step(world)
        hashrate = mining_hashrate(world)
        blocks = np.zeros(num_c, dtype=np.int64)
        reward = np.zeros(num_c)
        for c, chain in enumerate(world.chains):
            mined = chain.advance_day(day, float(hashrate[c]),
                                      world.stream("chain", c // world.coin_block))
            blocks[c], reward[c] = mined.blocks, mined.reward_coins
            for rt in mined.retargets:
                world.log(rt.time_days, "retarget", chain.coin.name, "",
                          f"difficulty {rt.change_pct:+.2f}% at height {rt.height:,} "
                          f"(epoch of {rt.epoch_seconds / 86400:.4f} days)")
        recorder.record(day, econ, hashrate, blocks, reward)
        if world.scenario.resolution == "cohort":
            # each copy of a batch on its own schedule, as if it ran alone
            due = (day % COMPACT_EVERY_DAYS == 0) | (_rows_by_copy(world) > 2 * compacted)
            if due.all():
                world.fleet.compact()
            elif due.any():
                world.fleet.compact(only=due[world.region_copy(world.fleet.region)])
            compacted = np.where(due, np.maximum(_rows_by_copy(world), 64), compacted)
        if on_day is not None:
            on_day(day)


def run_batch_world(scenario: Scenario, stacked: Scenario, copies: list[Streams],
                    on_day: Callable[[int], None] | None = None
                    ) -> list[dict[str, pd.DataFrame]]:
    """Run `stacked`, the batch world of `scenario` (sim/batch.py) with the streams of its
    `copies`; each copy's tables, named as in `scenario`."""
    first = copies[0]
    env, world = start_world(stacked, first.seed, first.replicate, first.sample, copies,
                             len(scenario.regions), len(scenario.coins))
    recorder = Recorder(world)
    env.process(_ticks(env, world, recorder, on_day))
    env.run(until=stacked.num_days)
    return [recorder.tables(s.replicate, k, scenario) for k, s in enumerate(copies)]


def _rows_by_copy(world: World) -> NDArray[np.int64]:
    """Fleet rows of each copy of the world."""
    return np.bincount(world.region_copy(world.fleet.region), minlength=world.copies)


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
