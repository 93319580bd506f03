"""The market: each coin's price, set at the start of every day."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from sim.scenario import ConstantPrice, GbmPrice, Scenario, TablePrice
from sim.world import World


def price_path(scenario: Scenario, coin_index: int, rng: np.random.Generator) -> np.ndarray:
    """USD price of a coin on each simulated day, shape (num_days,)."""
    price = scenario.coins[coin_index].price
    days = np.arange(scenario.num_days, dtype=float)
    match price:
        case ConstantPrice():
            return np.full(len(days), price.usd)
        case TablePrice():
            x = np.array([(p.date - scenario.start).days for p in price.points], dtype=float)
            y = np.array([p.usd for p in price.points])
            if price.interpolation == "linear":
                return np.interp(days, x, y)
            pos = np.searchsorted(x, days, side="right") - 1
            return y[np.clip(pos, 0, len(y) - 1)]
        case GbmPrice():
            dt_years = 1.0 / 365.25
            sigma, mu = price.volatility_per_year, price.drift_per_year
            steps = (mu - 0.5 * sigma**2) * dt_years + sigma * np.sqrt(dt_years) * \
                rng.standard_normal(len(days) - 1)
            return price.initial_usd * np.exp(np.concatenate([[0.0], np.cumsum(steps)]))
    raise AssertionError(price)


class Market:
    def __init__(self, env: simpy.Environment, world: World) -> None:
        self.env, self.world = env, world
        block = world.coin_block
        self.paths = np.stack([price_path(world.scenario, c, world.stream("price", c // block))
                               for c in range(len(world.scenario.coins))])
        world.price_usd = self.paths[:, 0].copy()
        env.process(self._run())

    def _run(self) -> Generator[Any, Any, None]:
        for day in range(self.paths.shape[1]):
            yield self.env.timeout(day - self.env.now)
            self.world.price_usd = self.paths[:, day].copy()
