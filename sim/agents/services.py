"""Service providers (exchanges, wallets, mining software) withdrawing from regions.

After `stop_new_users` half of a provider's haircut applies, after `close` all of it; both
add its risk to the regions' perceived risk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator
from typing import Any

import simpy

from sim.agents.regulators import refresh_regions
from sim.world import World, day_index


class ServiceProvider:
    def __init__(self, env: simpy.Environment, world: World, index: int) -> None:
        self.env, self.world, self.index = env, world, index
        spec = world.scenario.services[index]
        steps: list[tuple[dt.date, float, str]] = []
        if spec.stop_new_users:
            steps.append((spec.stop_new_users, 0.5, "stops registering new users"))
        if spec.close:
            steps.append((spec.close, 1.0, "closes existing accounts"))
        env.process(self._run(sorted(steps)))

    def _run(self, steps: list[tuple[dt.date, float, str]]) -> Generator[Any, Any, None]:
        world = self.world
        spec = world.scenario.services[self.index]
        for date, level, what in steps:
            yield self.env.timeout(max(day_index(world.scenario, date), 0) - self.env.now)
            world.service_levels[self.index] = level
            refresh_regions(world, world.copy_of(spec.regions[0]))
            where = ", ".join(spec.regions)
            world.log(self.env.now, f"service_{'close' if level == 1.0 else 'stop_new_users'}",
                      spec.name, where, f"{spec.name} ({spec.kind}) {what} in {where}")
