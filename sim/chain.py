"""Block production and difficulty rules.

`bitcoin`: blocks arrive as a Poisson process of rate H / (D · 2³²) per second; every
`retarget_blocks` blocks the difficulty becomes D · (retarget_blocks · block_time) / actual,
clamped to ×/÷ `max_adjustment_factor`. A day is simulated exactly in distribution: given the
day's N ~ Poisson(λ · 86400) arrivals, the moment of the epoch's last block is the corresponding
order statistic (a Beta draw); the rest of the day then runs at the new difficulty.

`tracking`: difficulty follows hashrate within the day (Ethereum-like per-block adjustment), so
blocks arrive at the target rate whatever the hashrate and D = H · block_time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from sim.scenario import Coin

SECONDS_PER_DAY = 86_400.0
TWO_32 = 2.0**32


def steady_state_difficulty(coin: Coin, hashrate_hs: float) -> float:
    """The difficulty at which `hashrate_hs` finds blocks at the target rate."""
    if coin.rule == "bitcoin":
        return hashrate_hs * coin.block_time_s / TWO_32
    return hashrate_hs * coin.block_time_s


def subsidy_sum(coin: Coin, first_height: int, num_blocks: int) -> float:
    """Total subsidy (coins) of blocks first_height … first_height + num_blocks − 1."""
    if num_blocks <= 0:
        return 0.0
    if coin.halving_interval_blocks is None:
        return coin.subsidy_coins * num_blocks
    total, h, left = 0.0, first_height, num_blocks
    interval = coin.halving_interval_blocks
    while left > 0:
        era = h // interval
        take = min(left, (era + 1) * interval - h)
        total += take * coin.subsidy_coins / 2.0**era
        h += take
        left -= take
    return total


def fee_path(coin: Coin, start: dt.date, days: int) -> NDArray[np.float64]:
    """Mean fees per block (coins) of each day 0 … days − 1 of a run starting on `start`:
    `fees_per_block_coins` until the first step of `fees_schedule`, then each step's value
    from its date on (a step dated before the start applies from day 0)."""
    fees = np.full(days, coin.fees_per_block_coins)
    for step in coin.fees_schedule:
        fees[max((step.date - start).days, 0):] = step.coins
    return fees


@dataclass
class Retarget:
    """A difficulty adjustment: when (days since start), at which height, old → new."""

    time_days: float
    height: int
    old_difficulty: float
    new_difficulty: float
    epoch_seconds: float

    @property
    def change_pct(self) -> float:
        return 100.0 * (self.new_difficulty / self.old_difficulty - 1.0)


@dataclass
class DayOfBlocks:
    blocks: int
    reward_coins: float  # subsidy + fees of the day's blocks
    retargets: list[Retarget] = field(default_factory=list)


@dataclass
class Chain:
    """The state of one coin's chain."""

    coin: Coin
    difficulty: float
    height: int
    blocks_into_epoch: int
    epoch_start_s: float  # seconds since the scenario start (negative: before it)
    #: mean fees per block of each day of the run (`fee_path`); None = the coin's constant
    fees_per_day: NDArray[np.float64] | None = None
    day: int = 0  # the day being mined (its fees apply)

    @classmethod
    def start(cls, coin: Coin, hashrate_hs: float,
              fees_per_day: NDArray[np.float64] | None = None) -> Chain:
        diff = coin.initial_difficulty or steady_state_difficulty(coin, max(hashrate_hs, 1.0))
        into = coin.blocks_into_epoch
        if into is None:
            into = coin.initial_height % coin.retarget_blocks
        return cls(coin, diff, coin.initial_height, into, -into * coin.block_time_s,
                   fees_per_day)

    def fees_on(self, day: int) -> float:
        """Mean fees per block (coins) on `day` (the last known day's after the run's end)."""
        if self.fees_per_day is None or len(self.fees_per_day) == 0:
            return self.coin.fees_per_block_coins
        return float(self.fees_per_day[min(max(day, 0), len(self.fees_per_day) - 1)])

    def block_rate_per_s(self, hashrate_hs: float) -> float:
        if self.coin.rule == "tracking":
            return 1.0 / self.coin.block_time_s if hashrate_hs > 0 else 0.0
        return hashrate_hs / (self.difficulty * TWO_32)

    def _add_blocks(self, n: int) -> float:
        reward = subsidy_sum(self.coin, self.height + 1, n) + n * self.fees_on(self.day)
        self.height += n
        return reward

    def advance_day(self, day: int, hashrate_hs: float, rng: np.random.Generator) -> DayOfBlocks:
        """Mine day `day` (seconds [day·86400, (day+1)·86400)) at constant hashrate."""
        self.day = day
        if self.coin.rule == "tracking":
            if hashrate_hs > 0.0:  # no blocks, no adjustment: it stays where it was
                self.difficulty = steady_state_difficulty(self.coin, hashrate_hs)
            n = int(rng.poisson(SECONDS_PER_DAY * self.block_rate_per_s(hashrate_hs)))
            return DayOfBlocks(n, self._add_blocks(n))
        out = DayOfBlocks(0, 0.0)
        left = SECONDS_PER_DAY
        while left > 0.0:
            lam = self.block_rate_per_s(hashrate_hs)
            need = self.coin.retarget_blocks - self.blocks_into_epoch
            n = int(rng.poisson(lam * left))
            if n < need:
                out.blocks += n
                out.reward_coins += self._add_blocks(n)
                self.blocks_into_epoch += n
                break
            t_last = left * float(rng.beta(need, n - need + 1))
            out.blocks += need
            out.reward_coins += self._add_blocks(need)
            now_s = (day + 1) * SECONDS_PER_DAY - left + t_last
            out.retargets.append(self._retarget(now_s))
            left -= t_last
        return out

    def _retarget(self, now_s: float) -> Retarget:
        coin = self.coin
        actual = max(now_s - self.epoch_start_s, 1e-9)
        factor = coin.retarget_blocks * coin.block_time_s / actual
        clamp = coin.max_adjustment_factor
        factor = min(max(factor, 1.0 / clamp), clamp)
        old = self.difficulty
        self.difficulty = old * factor
        self.epoch_start_s = now_s
        self.blocks_into_epoch = 0
        return Retarget(now_s / SECONDS_PER_DAY, self.height, old, self.difficulty, actual)
