"""The process-per-rig simpy baseline: every rig a simpy process, on hashsim's own environment.

Each rig's process wakes once a day (`env.timeout(1)`, half a day after the institutions'
events of that day; a rig in transit sleeps until it arrives), applies the rules of
benchmarks/baselines/rules.py and waits for the day's barrier. One more process, the day's
clerk, runs after the rigs' mornings (a later simpy priority): it admits the queue, computes the
day's economics, opens the barrier (every rig then switches, is enforced on and draws whether
it moves or decides), builds the relocation logit, gives movers, deciders and buyers their
turns in random order as capacity is booked, and aggregates the day by iterating over the rigs.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Generator, Mapping
from typing import Any

import simpy

from benchmarks.baselines import rules
from benchmarks.baselines.institutions import Desk, Market, Tally
from benchmarks.baselines.rules import Rig, Today
from sim.engine import TickTimeout
from sim.state import IN_TRANSIT, RETIRED
from sim.world import World

Turn = tuple[Rig, simpy.Event]


class SimpyRigs:
    """The fleet as simpy processes beside hashsim's institutions."""

    def __init__(self, env: simpy.Environment, world: World, rigs: list[Rig], seed: int) -> None:
        self.env, self.world, self.rigs = env, world, rigs
        self.first_day = int(env.now)
        self.rng = random.Random(seed)
        self.desk = Desk(world, seed)
        self.tallies: list[Tally] = []
        self.today: Today
        self.switching = env.event()  # the day's barrier
        self.movers: dict[int, list[Turn]] = defaultdict(list)
        self.deciders: list[Turn] = []
        self.sellers: list[Turn] = []
        for rig in rigs:
            env.process(self._life(rig))
        env.process(self._clerk())

    def run(self, days: int) -> list[Tally]:
        """Run `days` days; the aggregates of each."""
        self.env.run(until=self.first_day + days)
        return self.tallies

    # ------------------------------------------------------------------ a rig

    def _turn(self, line: list[Turn], rig: Rig) -> simpy.Event:
        event = self.env.event()
        line.append((rig, event))
        return event

    def _life(self, rig: Rig) -> Generator[Any, Any, None]:
        env, rng = self.env, self.rng
        while rig.status != RETIRED:
            day = int(env.now)
            if rig.status == IN_TRANSIT and rig.t_due > day:
                yield env.timeout(rig.t_due - day)
                continue
            rules.morning(rig, day, self.desk.pools(day), rng)
            yield self.switching
            t = self.today
            rules.switch(rig, t)
            rules.enforce(rig, t, rng)
            if rules.may_exit(rig, t, rng):
                market, cum = yield self._turn(self.movers[rig.region], rig)
                rules.leave(rig, cum, day, market, rng)
            elif rules.may_decide(rig, t, rng):
                market, (cum, buyer) = yield self._turn(self.deciders, rig)
                if rules.decide(rig, cum, day, market, rng):
                    yield self._turn(self.sellers, rig)
                    rules.leave(rig, buyer, day, market, rng, extra_days=market.sell_days)
            if rig.status != IN_TRANSIT:
                yield env.timeout(1)

    # ------------------------------------------------------------------ the clerk

    def _turns(self, line: list[Turn], value: tuple[Market, Mapping[Any, Any]] | None,
               key: Callable[[Rig], Any]) -> simpy.Event:
        """Give each rig of `line` its turn in random order, with the market and its group's
        choices (`key(rig)` in `value`); the event returned fires once all have had it."""
        self.rng.shuffle(line)
        for rig, event in line:
            event.succeed(None if value is None else (value[0], value[1][key(rig)]))
        return self.env.timeout(0)

    def _clerk(self) -> Generator[Any, Any, None]:
        env, desk = self.env, self.desk
        while True:
            day = int(env.now)
            desk.admit(self.rigs, day)
            self.today, econ = desk.today(day, desk.mining_hashrate(self.rigs))
            barrier, self.switching = self.switching, env.event()
            barrier.succeed()
            yield env.timeout(0)  # every rig has switched, been enforced on, drawn its move
            movers, self.movers = self.movers, defaultdict(list)
            deciders, self.deciders = self.deciders, []
            if movers or deciders:
                market = desk.market(econ, self.rigs)
                for region in sorted(movers):
                    by_hw: dict[int, int] = defaultdict(int)
                    for rig, _ in movers[region]:
                        by_hw[rig.hw] += 1
                    yield self._turns(movers[region],
                                      (market, market.exit_choices(region, by_hw)), _hw)
                groups: dict[tuple[int, int], int] = defaultdict(int)
                for rig, _ in deciders:
                    groups[(rig.region, rig.hw)] += 1
                if deciders:
                    yield self._turns(deciders, (market, market.decision_choices(groups)),
                                      _group)
                sellers, self.sellers = self.sellers, []
                yield self._turns(sellers, None, _hw)
            self.tallies.append(desk.close_day(self.rigs, day))
            yield TickTimeout(env, 1)  # after the rigs, like the daily tick


def _hw(rig: Rig) -> int:
    return rig.hw


def _group(rig: Rig) -> tuple[int, int]:
    return (rig.region, rig.hw)
