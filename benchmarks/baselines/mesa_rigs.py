"""The per-agent Mesa baseline: every rig a `mesa.Agent`, the day a `mesa.Model.step`.

What a researcher would otherwise write: agents apply the rules of benchmarks/baselines/rules.py
to themselves (`morning`; `step`: switching, enforcement and the draw of whether to move or
decide; then the movers', deciders' and buyers' turns, in random order as capacity is booked);
the model runs the institutions (hashsim's simpy environment, one day at a time), admits the
queue, computes the day's economics and relocation logit, and aggregates by iterating over its
agents.
"""

from __future__ import annotations

from collections import defaultdict

import mesa
import simpy
from mesa.agent import AgentSet

from benchmarks.baselines import rules
from benchmarks.baselines.institutions import Desk, Market, Pools, Tally
from benchmarks.baselines.rules import Rig, Today
from sim.world import World


class RigAgent(mesa.Agent):
    """One rig."""

    model: RigModel

    def __init__(self, model: RigModel, rig: Rig) -> None:
        super().__init__(model)
        self.rig = rig
        self.buyer: list[float] = []

    def morning(self) -> None:
        m = self.model
        rules.morning(self.rig, m.day, m.pools, m.random)

    def step(self) -> None:
        """Switch, face enforcement, then draw whether to leave pre-emptively or, forced off,
        whether to decide today."""
        m, rig = self.model, self.rig
        rules.switch(rig, m.today)
        rules.enforce(rig, m.today, m.random)
        if rules.may_exit(rig, m.today, m.random):
            m.movers[rig.region].append(self)
        elif rules.may_decide(rig, m.today, m.random):
            m.deciders.append(self)

    def leave(self) -> None:
        m = self.model
        rules.leave(self.rig, m.exit_cum[self.rig.hw], m.day, m.market, m.random)

    def decide(self) -> None:
        m = self.model
        cum, buyer = m.decision_cum[(self.rig.region, self.rig.hw)]
        if rules.decide(self.rig, cum, m.day, m.market, m.random):
            self.buyer = buyer
            m.sellers.append(self)

    def sell(self) -> None:
        m = self.model
        rules.leave(self.rig, self.buyer, m.day, m.market, m.random,
                    extra_days=m.market.sell_days)


class RigModel(mesa.Model):
    """The fleet as Mesa agents, hashsim's institutions around it; `step()` is one day."""

    def __init__(self, env: simpy.Environment, world: World, rigs: list[Rig], seed: int) -> None:
        super().__init__(seed=seed)
        self.env, self.world = env, world
        self.desk = Desk(world, seed)
        self.day = int(env.now)
        for rig in rigs:
            RigAgent(self, rig)
        self.tallies: list[Tally] = []
        self.pools: Pools
        self.today: Today
        self.market: Market
        self.movers: dict[int, list[RigAgent]] = defaultdict(list)
        self.exit_cum: dict[int, list[float]] = {}
        self.deciders: list[RigAgent] = []
        self.decision_cum: dict[tuple[int, int], tuple[list[float], list[float]]] = {}
        self.sellers: list[RigAgent] = []

    def run(self, days: int) -> list[Tally]:
        """Step `days` days; the aggregates of each."""
        for _ in range(days):
            self.step()
        return self.tallies

    def rigs(self) -> list[Rig]:
        return [a.rig for a in self.agents]

    def step(self) -> None:
        desk, day = self.desk, self.day
        if self.env.now < day + 0.5:
            self.env.run(until=day + 0.5)  # the institutions' events of the day
        self.pools = desk.pools(day)
        self.agents.do("morning")
        desk.admit(self.rigs(), day)
        self.today, econ = desk.today(day, desk.mining_hashrate(self.rigs()))
        self.movers, self.deciders, self.sellers = defaultdict(list), [], []
        self.agents.do("step")
        if self.movers or self.deciders:
            self.market = desk.market(econ, self.rigs())
            self._move(self.market)
        self.tallies.append(desk.close_day(self.rigs(), day))
        self.day += 1

    def _move(self, market: Market) -> None:
        """Pre-emptive exits region by region, then decisions, then the buyers of sold rigs;
        each in random order, as capacity is booked."""
        for region in sorted(self.movers):
            movers = self.movers[region]
            by_hw: dict[int, int] = defaultdict(int)
            for a in movers:
                by_hw[a.rig.hw] += 1
            self.exit_cum = market.exit_choices(region, by_hw)
            AgentSet(movers, random=self.random).shuffle_do("leave")
        if not self.deciders:
            return
        groups: dict[tuple[int, int], int] = defaultdict(int)
        for a in self.deciders:
            groups[(a.rig.region, a.rig.hw)] += 1
        self.decision_cum = market.decision_choices(groups)
        AgentSet(self.deciders, random=self.random).shuffle_do("decide")
        AgentSet(self.sellers, random=self.random).shuffle_do("sell")
